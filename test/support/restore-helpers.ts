import { randomUUID } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type pg from 'pg';
import yauzl from 'yauzl';
import { buildArchive } from '../../src/export/archive-builder.ts';
import { createCsvRowFormatter, csvHeaderLine, UTF8_BOM } from '../../src/export/csv-writer.ts';
import { MODULE_SPECS, type CellValue } from '../../src/export/module-columns.ts';
import type { App } from '../../src/app.ts';
import type { CrmModuleName } from '../../src/modules/crm/crm.modules.ts';
import { writeBatch, type BatchWriter } from '../../src/modules/restore/import-batch.ts';
import type { ImportOptions } from '../../src/modules/restore/import-runner.ts';
import { keptArchives } from '../../src/modules/restore/restore-archives.ts';
import { retentionRecomputeAfterImport } from '../../src/modules/restore/restore.jobs.ts';
import { RestoreService } from '../../src/modules/restore/restore.service.ts';
import type { TestApp } from './test-app.ts';

/** The restore order of the modules (references first). */
export const RESTORE_MODULES: CrmModuleName[] = ['ACCOUNTS', 'CONTACTS', 'DEALS', 'LEADS'];

export interface UploadOptions {
  file?: { data: Buffer | string; name: string; type?: string };
  module?: string;
  modules?: string;
  /** Default: the preflight header the endpoint requires; `{}` to leave it out. */
  headers?: Record<string, string>;
  token?: string | null;
}

export interface UploadResult {
  status: number;
  body: { importId?: string; error?: { code: string; message: string } };
}

/** POST /imports as a client would: multipart/form-data with the bearer token and a preflight header. */
export async function upload(url: string, token: string | null, opts: UploadOptions): Promise<UploadResult> {
  const form = new FormData();
  if (opts.module !== undefined) form.append('module', opts.module);
  if (opts.modules !== undefined) form.append('modules', opts.modules);
  if (opts.file) {
    const data = typeof opts.file.data === 'string' ? Buffer.from(opts.file.data) : opts.file.data;
    form.append('file', new Blob([new Uint8Array(data)], { type: opts.file.type ?? 'application/octet-stream' }), opts.file.name);
  }
  const headers: Record<string, string> = opts.headers ?? { 'apollo-require-preflight': 'true' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${url}/imports`, { method: 'POST', headers, body: form });
  return { status: res.status, body: (await res.json()) as UploadResult['body'] };
}

export interface ImportJobView {
  id: string;
  status: string;
  module: string | null;
  modules: string[] | null;
  processedRows: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  error: string | null;
  errors: { file: string | null; row: number; message: string }[];
}

export const IMPORT_JOB_FIELDS = 'id status module modules processedRows created updated skipped failed error errors { file row message }';

/** Polls `importJob` until the job is COMPLETED or FAILED. */
export async function waitForImport(t: TestApp, token: string, id: string, timeoutMs = 30_000): Promise<ImportJobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.gql<{ importJob: ImportJobView | null }>(token, `query($id: ID!) { importJob(id: $id) { ${IMPORT_JOB_FIELDS} } }`, { id });
    if (res.errors) throw new Error(`importJob failed: ${JSON.stringify(res.errors)}`);
    const job = res.data?.importJob;
    if (job && (job.status === 'COMPLETED' || job.status === 'FAILED')) return job;
    if (Date.now() > deadline) throw new Error(`import ${id} still ${job?.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Uploads and waits; fails the test when the upload is refused. */
export async function importFile(t: TestApp, token: string, opts: UploadOptions): Promise<ImportJobView> {
  const res = await upload(t.url, token, opts);
  if (res.status !== 202 || !res.body.importId) throw new Error(`upload refused: ${res.status} ${JSON.stringify(res.body)}`);
  return waitForImport(t, token, res.body.importId);
}

/**
 * Every column of a module's records in the organization, as exactly comparable values (timestamps as epoch ms,
 * owner as email), ordered by id. Retention dates are left out: restore recomputes them by policy.
 */
export async function moduleRows(pool: pg.Pool, organizationId: string, module: CrmModuleName): Promise<Record<string, unknown>[]> {
  const spec = MODULE_SPECS[module];
  const columns = spec.columns
    .filter((c) => c.header !== 'retentionEndsAt' && c.header !== 'deletesAt')
    .map((c) => `${c.type === 'date' ? `(extract(epoch from ${c.sql}) * 1000)::int8` : c.sql} as "${c.header}"`);
  const state = spec.module === 'LEADS' || spec.module === 'CONTACTS' ? ', t.retention_state as "retentionState"' : '';
  const { rows } = await pool.query(
    `select ${columns.join(', ')}${state} from ${spec.table} t left join users u on u.id = t.owner_id
      where t.organization_id = $1 order by t.id`,
    [organizationId],
  );
  return rows;
}

export async function allRows(pool: pg.Pool, organizationId: string): Promise<Record<string, Record<string, unknown>[]>> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const module of RESTORE_MODULES) out[module] = await moduleRows(pool, organizationId, module);
  return out;
}

/** Deletes every CRM record of the organization (children first). */
export async function wipe(pool: pg.Pool, organizationId: string): Promise<void> {
  for (const table of ['deals', 'contacts', 'leads', 'accounts']) {
    await pool.query(`delete from ${table} where organization_id = $1`, [organizationId]);
  }
}

/** The backup archive of the organization as the backup feature writes it (API.md §5), in memory. */
export async function archiveOf(t: TestApp & { db: { url: string } }, organizationId: string, name = 'Org'): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => out.on('end', resolve));
  await buildArchive({
    connectionString: t.db.url,
    organizationId,
    organization: { id: organizationId, name },
    backupId: randomUUID(),
    trigger: 'MANUAL',
    createdAt: new Date(),
    out,
    inline: true,
  });
  await ended;
  return Buffer.concat(chunks);
}

/** One entry of a ZIP held in memory. */
export async function zipEntry(zip: Buffer, name: string): Promise<Buffer> {
  const file = await yauzl.fromBufferPromise(zip, { lazyEntries: true });
  try {
    for await (const entry of file.eachEntry()) {
      if (entry.fileName !== name) continue;
      const stream: Readable = await file.openReadStreamPromise(entry);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    }
  } finally {
    file.close();
  }
  throw new Error(`no ${name} in the archive`);
}

export const fileBase = (module: CrmModuleName): string => MODULE_SPECS[module].fileBase;

export async function usersEmail(pool: pg.Pool, userId: string): Promise<string> {
  const { rows } = await pool.query<{ email: string }>('select email from users where id = $1', [userId]);
  return rows[0]!.email;
}

/**
 * A module CSV exactly as the archive writes it (BOM, header, CRLF, `'` guard), from rows given by header name
 * (dates as epoch ms); missing columns are null. `raw` rows are appended as they are (to write broken lines).
 */
export function csvOf(module: CrmModuleName, rows: Record<string, CellValue>[], raw: string[] = []): Buffer {
  const columns = MODULE_SPECS[module].columns;
  const format = createCsvRowFormatter(columns);
  const body = rows.map((row) => format(columns.map((c) => row[c.header] ?? null))).join('') + raw.map((line) => `${line}\r\n`).join('');
  return Buffer.concat([UTF8_BOM, Buffer.from(csvHeaderLine(columns) + body)]);
}

/** Polls until `check` returns a value (work done by job workers; never for time logic). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function importJobRows(pool: pg.Pool, organizationId?: string): Promise<number> {
  const { rows } = organizationId
    ? await pool.query<{ n: number }>('select count(*)::int as n from import_jobs where organization_id = $1', [organizationId])
    : await pool.query<{ n: number }>('select count(*)::int as n from import_jobs');
  return rows[0]!.n;
}

/** A crash of the worker, as a batch writer sees it: thrown after a batch committed. */
export class SimulatedCrash extends Error {}

/**
 * The real batch writer, except that each run (import id + attempt) "crashes" right after its n-th committed
 * batch, as a worker killed there would stop.
 */
export function crashAfterBatches(n: number): BatchWriter {
  const committed = new Map<string, number>();
  return async (target, batch, notify) => {
    const progress = await writeBatch(target, batch, notify);
    const run = `${target.importId}:${target.attempt}`;
    const count = (committed.get(run) ?? 0) + 1;
    committed.set(run, count);
    if (count === n) throw new SimulatedCrash('simulated crash after a committed batch');
    return progress;
  };
}

/** A RestoreService on the app's own dependencies, with other import settings or another batch writer. */
export function restoreServiceOf(app: App, opts: { options?: Partial<ImportOptions>; writeBatch?: BatchWriter }): RestoreService {
  const s = app.services;
  return new RestoreService({
    pool: s.pool,
    boss: s.boss,
    clock: s.clock,
    log: s.log,
    activity: s.activity,
    events: s.events,
    blobs: s.storage,
    archives: keptArchives(s.backups, s.storage),
    afterImport: retentionRecomputeAfterImport(s.retention.recomputes),
    ...opts,
  });
}
