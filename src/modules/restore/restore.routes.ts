import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Services } from '../../services.ts';
import { errorForLog } from '../../graphql/errors.ts';
import type { HttpRoutes } from '../../http/app.ts';
import { admitRequest } from '../../http/admission.ts';
import { forcesPreflight } from '../../http/csrf.ts';
import { EdgeError, edgeFailure, routeErrorBody } from '../../http/errors.ts';
import { requireRole } from '../../http/role-guard.ts';
import { sendRefusal } from '../../http/upload-refusal.ts';
import { badInput } from '../../shared/app-error.ts';
import { CRM_MODULE_NAMES } from '../crm/crm.modules.ts';
import type { Viewer } from '../auth/auth.types.ts';
import { parseModule, parseModules } from './import-inspect.ts';
import { ENVELOPE_BYTES, receiveUpload, tooLarge, type ReceivedUpload } from './import-upload.ts';
import { uploadKey } from './restore.service.ts';


/**
 * `POST /imports` (API.md §2): multipart with `module` and `file` (CSV/XLSX), or a backup ZIP (+ `modules`).
 * The API only authenticates, checks the fields and the file's name and first bytes, and streams the file into
 * the blob store; the job reads it (in a parser thread with hard limits). A bad file ends the job FAILED.
 */
export const importRoutes: HttpRoutes = (router, services) => {
  router.post('/imports', (req, res) => void handleImport(services, req, res));
};

async function handleImport(services: Services, req: Request, res: Response): Promise<void> {
  res.setHeader('Cache-Control', 'no-store');
  try {
    checkPreflight(req);
    const viewer = await admitRequest(services, req, res);
    requireRole(viewer, 'ADMIN', 'Only an admin may import records');
    checkEnvelope(req, services.config.importMaxBytes);
    const importId = randomUUID();
    const upload = await receiveUpload(req, services.storage, services.config.importMaxBytes, (format) =>
      uploadKey(viewer.organizationId, importId, format),
    );
    const job = await accept(services, viewer, importId, upload).catch(async (error: unknown) => {
      if (upload.file) await services.storage.delete(upload.file.key);
      throw error;
    });
    res.status(202).json({ importId: job.id });
  } catch (error) {
    sendError(services, req, res, error);
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

/** Fields only: the file itself was checked by name and first bytes while it streamed, and is read by the job. */
async function accept(services: Services, viewer: Viewer, importId: string, upload: ReceivedUpload) {
  if (!upload.file) throw badInput('file', 'is required (a .csv, .xlsx or backup .zip file)');
  const { format, name, key } = upload.file;
  const moduleField = upload.fields.get('module')?.[0];
  const module = moduleField && moduleField.trim() !== '' ? parseModule('module', moduleField) : null;
  const modulesField = upload.fields.get('modules');
  const requested = modulesField ? parseModules(modulesField) : null;
  if (requested && format !== 'ZIP') throw badInput('modules', 'is only for a backup .zip; send module with a .csv or .xlsx');
  if (format !== 'ZIP' && !module) {
    throw badInput('module', `is required with a .${format.toLowerCase()} file (one of ${CRM_MODULE_NAMES.join(', ')})`);
  }
  if (upload.file.size === 0) throw badInput('file', `${name}: is empty (expected a header row)`);
  const modules = format === 'ZIP' ? (requested ?? (module ? [module] : null)) : null;
  return services.restore.createUploadImport(viewer, {
    id: importId,
    sourceKey: key,
    format,
    fileName: name,
    module: format === 'ZIP' ? (modules?.length === 1 ? modules[0]! : null) : module,
    modules,
  });
}

function sendError(services: Services, req: Request, res: Response, error: unknown): void {
  const failure = edgeFailure(error);
  if (!failure.expected) services.log.error(errorForLog(error), 'import upload failed');
  if (res.headersSent) return void res.destroy();
  sendRefusal(req, res, failure.status, routeErrorBody(failure));
}
