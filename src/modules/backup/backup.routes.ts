import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { errorForLog } from '../../graphql/errors.ts';
import { admitAnonymousRequest } from '../../http/admission.ts';
import type { HttpRoutes } from '../../http/app.ts';
import { edgeFailure, routeErrorBody } from '../../http/errors.ts';
import { AppError, forbidden } from '../../shared/app-error.ts';
import { attachmentHeader, parseRange } from './backup-download.ts';

/** `GET|HEAD /downloads/backups/:id?expires=…&signature=…` (API.md §2): the signed link is the authority. */
export const backupDownloadRoutes: HttpRoutes = (router, services) => {
  router.get('/downloads/backups/:id', (req, res) => void serveDownload(services, req, res));
};

async function serveDownload(services: Services, req: Request, res: Response): Promise<void> {
  res.setHeader('Cache-Control', 'private, no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  try {
    await admitAnonymousRequest(services, req, res); // the link is the authority: counted per client address
    const id = String(req.params.id);
    const archive = await services.backups.resolveDownload(id, req.query.expires, req.query.signature);
    if (archive === 'forbidden') throw forbidden('This download link is invalid or has expired');
    if (archive === 'not-found') throw new AppError('NOT_FOUND', 'No such backup archive');
    const size = archive.blob.size;
    const requested = parseRange(req.header('range'), size);
    res.setHeader('Accept-Ranges', 'bytes');
    if (archive.backup.sha256) res.setHeader('ETag', `"${archive.backup.sha256}"`);
    if (requested.kind === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${size}`);
      return void res.status(416).end();
    }
    const range = requested.kind === 'range' ? requested.range : undefined;
    res.status(range ? 206 : 200);
    res.setHeader('Content-Type', 'application/zip');
    res.setHeader('Content-Disposition', attachmentHeader(archive.backup.fileName ?? `${archive.backup.id}.zip`));
    res.setHeader('Content-Length', String(range ? range.end - range.start + 1 : size));
    if (range) res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    if (req.method === 'HEAD') return void res.end();
    // A request that starts at byte 0 is a download (a resumed chunk is not), recorded once per link.
    const link = { expires: String(req.query.expires), signature: String(req.query.signature) };
    if (!range || range.start === 0) await services.backups.recordDownload(archive.backup, range, link);
    const stream = await archive.open(range);
    await pipeline(stream, res).catch((error: NodeJS.ErrnoException) => {
      // A client that goes away mid-download is normal; anything else is worth a log line.
      if (error.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw error;
    });
  } catch (error) {
    const failure = edgeFailure(error);
    if (!failure.expected) services.log.error(errorForLog(error), 'backup download failed');
    if (!res.headersSent) res.status(failure.status).json(routeErrorBody(failure));
    else res.destroy();
  }
}
