/** SQL of import jobs. Every query names the organization, except the worker's, which carries its own. */
import type { Queryable } from '../crm/crm.repository.ts';
import type { ImportCheckpoint, ImportRowErrorRecord } from './import.table.ts';

export type ImportStatusName = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED';
export type ImportFormat = 'CSV' | 'XLSX' | 'ZIP';

export interface ImportJobRow {
  id: string;
  organizationId: string;
  requestedBy: string | null;
  module: string | null;
  modules: string[] | null;
  sourceKind: 'UPLOAD' | 'BACKUP';
  sourceKey: string;
  format: ImportFormat;
  fileName: string | null;
  status: ImportStatusName;
  processedRows: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  errors: ImportRowErrorRecord[];
  error: string | null;
  checkpoint: ImportCheckpoint | null;
  attempts: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** Row errors kept per job (API.md: the first 1,000). */
export const MAX_KEPT_ERRORS = 1000;

const COLUMNS = `id, organization_id as "organizationId", requested_by as "requestedBy", module, modules,
  source_kind as "sourceKind", source_key as "sourceKey", format, file_name as "fileName", status,
  processed_rows as "processedRows", created, updated, skipped, failed, errors, error, checkpoint, attempts,
  created_at as "createdAt", started_at as "startedAt", finished_at as "finishedAt"`;

/** What a request fixes of a job; everything else starts at the table's defaults. */
export type NewImportJob = Pick<ImportJobRow, 'id' | 'organizationId' | 'module' | 'modules' | 'sourceKind' | 'sourceKey' | 'format' | 'fileName'> & {
  requestedBy: string;
};

export async function insertImportJob(db: Queryable, job: NewImportJob, at: Date): Promise<ImportJobRow> {
  const { rows } = await db.query<ImportJobRow>(
    `insert into import_jobs (id, organization_id, requested_by, module, modules, source_kind, source_key, format, file_name, created_at)
     values ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10) returning ${COLUMNS}`,
    [job.id, job.organizationId, job.requestedBy, job.module, job.modules ? JSON.stringify(job.modules) : null,
      job.sourceKind, job.sourceKey, job.format, job.fileName, at],
  );
  return rows[0]!;
}

export async function findImportJob(db: Queryable, organizationId: string, id: string): Promise<ImportJobRow | undefined> {
  const { rows } = await db.query<ImportJobRow>(`select ${COLUMNS} from import_jobs where organization_id = $1 and id = $2`, [organizationId, id]);
  return rows[0];
}

/**
 * Claims the job for a run: PENDING or RUNNING (a rerun after a crash) becomes RUNNING and counts an attempt.
 * Undefined when it already finished: a duplicate delivery then does nothing.
 */
export async function startAttempt(db: Queryable, organizationId: string, id: string, at: Date): Promise<ImportJobRow | undefined> {
  const { rows } = await db.query<ImportJobRow>(
    `update import_jobs set status = 'RUNNING', started_at = coalesce(started_at, $3), attempts = attempts + 1
      where organization_id = $1 and id = $2 and status in ('PENDING', 'RUNNING') returning ${COLUMNS}`,
    [organizationId, id, at],
  );
  return rows[0];
}

export interface BatchProgress {
  processed: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  errors: ImportRowErrorRecord[];
  checkpoint: ImportCheckpoint;
}

/**
 * Adds a batch's counts, inside the batch's transaction: the job row and the records agree. Only if the job is
 * still this run's (`attempt`: a redelivered job supersedes it) and at the checkpoint the batch follows (`after`:
 * the batch before committed; while it is still open, this waits for it). False: the transaction must roll back.
 */
export async function recordBatch(
  db: Queryable,
  organizationId: string,
  id: string,
  attempt: number,
  after: ImportCheckpoint | null,
  p: BatchProgress,
): Promise<boolean> {
  const result = await db.query(
    `update import_jobs set processed_rows = processed_rows + $3, created = created + $4, updated = updated + $5,
        skipped = skipped + $6, failed = failed + $7,
        errors = case when $8::jsonb = '[]'::jsonb then errors
                      else jsonb_path_query_array(errors || $8::jsonb, '$[0 to ${MAX_KEPT_ERRORS - 1}]') end,
        checkpoint = $9::jsonb
      where organization_id = $1 and id = $2 and status = 'RUNNING' and attempts = $10
        and checkpoint is not distinct from $11::jsonb`,
    [organizationId, id, p.processed, p.created, p.updated, p.skipped, p.failed, JSON.stringify(p.errors), JSON.stringify(p.checkpoint), attempt,
      after === null ? null : JSON.stringify(after)],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Undefined when the job already finished or a newer attempt owns it. */
export async function finishJob(
  db: Queryable,
  organizationId: string,
  id: string,
  attempt: number,
  outcome: { status: 'COMPLETED' | 'FAILED'; error: string | null },
  at: Date,
): Promise<ImportJobRow | undefined> {
  const { rows } = await db.query<ImportJobRow>(
    `update import_jobs set status = $3, error = $4, finished_at = $5
      where organization_id = $1 and id = $2 and status in ('PENDING', 'RUNNING') and attempts = $6 returning ${COLUMNS}`,
    // A last guard: however a message was built, a job's error never carries a long stretch of the file.
    [organizationId, id, outcome.status, outcome.error === null ? null : outcome.error.slice(0, MAX_ERROR_CHARS), at, attempt],
  );
  return rows[0];
}

const MAX_ERROR_CHARS = 2000;

/** The modules a ZIP import restores, as its parser found them (`module` too when there is just one). */
export async function setJobModules(db: Queryable, organizationId: string, id: string, attempt: number, modules: string[]): Promise<void> {
  await db.query(
    `update import_jobs set modules = $3::jsonb, module = case when jsonb_array_length($3::jsonb) = 1 then $3::jsonb ->> 0 end
      where organization_id = $1 and id = $2 and status = 'RUNNING' and attempts = $4`,
    [organizationId, id, JSON.stringify(modules), attempt],
  );
}

/** Blob keys of uploads whose import finished since `since` (their blob should be gone; the sweep makes sure). */
export async function finishedUploadKeys(db: Queryable, since: Date): Promise<string[]> {
  const { rows } = await db.query<{ key: string }>(
    `select source_key as key from import_jobs
      where source_kind = 'UPLOAD' and status in ('COMPLETED', 'FAILED') and finished_at >= $1
      order by finished_at desc limit 10000`,
    [since],
  );
  return rows.map((r) => r.key);
}

/** Email (lower-cased) → user id, for every user of the organization: ownerEmail resolution. */
export async function userIdsByEmail(db: Queryable, organizationId: string): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; email: string }>('select id, lower(email) as email from users where organization_id = $1', [
    organizationId,
  ]);
  return new Map(rows.map((r) => [r.email, r.id]));
}
