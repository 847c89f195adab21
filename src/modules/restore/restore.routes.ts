import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import busboy from 'busboy';
import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { errorForLog } from '../../graphql/errors.ts';
import type { HttpRoutes } from '../../http/app.ts';
import { admitRequest } from '../../http/admission.ts';
import { forcesPreflight } from '../../http/csrf.ts';
import { EdgeError, edgeFailure, routeErrorBody } from '../../http/errors.ts';
import { requireRole } from '../../http/role-guard.ts';
import { pipeWithLimit } from '../../http/upload-limit.ts';
import { sendRefusal } from '../../http/upload-refusal.ts';
import { badInput } from '../../shared/app-error.ts';
import type { Viewer } from '../auth/auth.types.ts';
import { detectFormat, inspectUpload, parseModule, parseModules } from './import-inspect.ts';

/** Room for the multipart envelope (boundaries, part headers, the small fields) around the file itself. */
const ENVELOPE_BYTES = 64 * 1024;

/** `POST /imports` (API.md §2): multipart with `module` and `file` (CSV/XLSX), or a backup ZIP (+ `modules`). */
export const importRoutes: HttpRoutes = (router, services) => {
  router.post('/imports', (req, res) => void handleImport(services, req, res));
};

async function handleImport(services: Services, req: Request, res: Response): Promise<void> {
  res.setHeader('Cache-Control', 'no-store');
  let tempDir: string | undefined;
  try {
    checkPreflight(req);
    const viewer = await admitRequest(services, req, res);
    requireRole(viewer, 'ADMIN', 'Only an admin may import records');
    checkEnvelope(req, services.config.importMaxBytes);
    tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-upload-'));
    const upload = await receive(req, tempDir, services.config.importMaxBytes);
    const job = await accept(services, viewer, upload, tempDir);
    res.status(202).json({ importId: job.id });
  } catch (error) {
    sendError(services, req, res, error);
  } finally {
    if (tempDir) await fs.rm(tempDir, { recursive: true, force: true });
  }
}

function checkPreflight(req: Request): void {
  if (forcesPreflight(req)) return;
  throw new EdgeError(
    'CSRF_PREVENTED',
    'This request has been blocked as a potential Cross-Site Request Forgery: send a non-empty apollo-require-preflight (or x-requested-with) header with the upload',
  );
}

function checkEnvelope(req: Request, maxBytes: number): void {
  if (!req.is('multipart/form-data')) throw badInput('body', 'must be multipart/form-data with the fields module and file');
  const length = Number(req.header('content-length') ?? Number.NaN);
  if (length > maxBytes + ENVELOPE_BYTES) throw tooLarge(maxBytes);
}

const tooLarge = (maxBytes: number) => new EdgeError('PAYLOAD_TOO_LARGE', `file: must be at most ${maxBytes} bytes`);

interface Received {
  fields: Map<string, string[]>;
  file?: { path: string; name: string };
}

/** Streams the one file part to a temporary file (never into memory) and collects the small fields. */
async function receive(req: Request, tempDir: string, maxBytes: number): Promise<Received> {
  const received: Received = { fields: new Map() };
  let problem: Error | undefined;
  const writes: Promise<unknown>[] = [];
  const parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: maxBytes, fields: 10, fieldSize: 10_000, parts: 12 } });
  parser.on('field', (name, value) => received.fields.set(name, [...(received.fields.get(name) ?? []), value]));
  parser.on('file', (name, stream, info) => {
    // Destroying the parser (413 below, or the body limit) destroys the part being read with the same error: with
    // no listener that is an uncaught 'error' that ends the process. The parse itself reports it (`done`).
    stream.on('error', () => undefined);
    if (name !== 'file' || received.file) {
      problem ??= badInput(name, 'unexpected file field: send one file, in the field "file"');
      stream.resume();
      return;
    }
    const target = path.join(tempDir, 'upload');
    received.file = { path: target, name: path.basename(info.filename ?? '') };
    stream.on('limit', () => parser.destroy(tooLarge(maxBytes))); // answer 413 now, not at the body's end
    const out = createWriteStream(target);
    stream.pipe(out);
    stream.once('error', () => out.destroy());
    const written = finished(out);
    // Awaited below once the parse succeeds; when the parse fails first, its error is the one reported.
    written.catch(() => undefined);
    writes.push(written);
  });
  parser.on('filesLimit', () => (problem ??= badInput('file', 'send exactly one file')));
  parser.on('partsLimit', () => (problem ??= badInput('body', 'has too many parts')));
  const done = finished(parser);
  // A client that goes away mid-upload must not leave the parse waiting for ever.
  req.once('close', () => {
    if (!req.complete) parser.destroy(new Error('upload aborted'));
  });
  pipeWithLimit(req, parser, maxBytes + ENVELOPE_BYTES, 'body'); // chunked bodies too: 413 once crossed
  try {
    await done;
    await Promise.all(writes);
  } catch (error) {
    throw error instanceof EdgeError ? error : badInput('body', 'is not a well-formed multipart/form-data body');
  }
  if (problem) throw problem;
  return received;
}

async function accept(services: Services, viewer: Viewer, upload: Received, tempDir: string) {
  if (!upload.file) throw badInput('file', 'is required (a .csv, .xlsx or backup .zip file)');
  const fileName = upload.file.name || 'upload';
  const format = await detectFormat(upload.file.path, fileName);
  const moduleField = upload.fields.get('module')?.[0];
  const module = moduleField && moduleField.trim() !== '' ? parseModule('module', moduleField) : null;
  const modulesField = upload.fields.get('modules');
  const requested = modulesField ? parseModules(modulesField) : null;
  if (requested && format !== 'ZIP') throw badInput('modules', 'is only for a backup .zip; send module with a .csv or .xlsx');
  const source = { format, path: upload.file.path, fileName };
  const modules = await inspectUpload(source, module, requested, tempDir);
  return services.restore.createUploadImport(viewer, {
    source,
    module: format === 'ZIP' ? (modules.length === 1 ? modules[0]! : null) : module,
    modules: format === 'ZIP' ? modules : null,
  });
}

function sendError(services: Services, req: Request, res: Response, error: unknown): void {
  const failure = edgeFailure(error);
  if (!failure.expected) services.log.error(errorForLog(error), 'import upload failed');
  if (res.headersSent) return void res.destroy();
  sendRefusal(req, res, failure.status, routeErrorBody(failure));
}
