import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import type { App } from '../../src/app.ts';
import type { BackupRow } from '../../src/modules/backup/backup.types.ts';
import { BACKUP_QUEUE, type BackupJobData } from '../../src/modules/backup/backup-state-machine.ts';

const run = promisify(execFile);

/** A storage directory of the test's own (STORAGE_DIR), under the OS temp dir; removed when the test process exits. */
export async function tempStorageDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-backup-test-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function backupRow(pool: pg.Pool, id: string): Promise<BackupRow> {
  const { rows } = await pool.query<BackupRow>(
    `select id, organization_id as "organizationId", trigger, status, requested_by as "requestedBy", created_at as "createdAt",
       scheduled_for as "scheduledFor", started_at as "startedAt", finished_at as "finishedAt", processed_records as "processedRecords",
       total_records as "totalRecords", progress_module as "progressModule", modules, file_name as "fileName",
       storage_key as "storageKey", size_bytes as "sizeBytes", sha256, error, attempts, job_id as "jobId", job_retry as "jobRetry"
     from backups where id = $1`,
    [id],
  );
  if (!rows[0]) throw new Error(`no backup ${id}`);
  return rows[0];
}

export async function backupsOf(pool: pg.Pool, organizationId: string): Promise<{ id: string; status: string; trigger: string; scheduledFor: Date | null }[]> {
  const { rows } = await pool.query(
    `select id, status, trigger, scheduled_for as "scheduledFor" from backups where organization_id = $1 order by created_at, id`,
    [organizationId],
  );
  return rows;
}

/** Polls until `check` returns a value (for work done by workers and other processes, never for time logic). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitForStatus(pool: pg.Pool, id: string, statuses: string[], timeoutMs = 30_000): Promise<BackupRow> {
  return eventually(async () => {
    const row = await backupRow(pool, id);
    return statuses.includes(row.status) ? row : undefined;
  }, `backup ${id} to be ${statuses.join('/')}`, timeoutMs);
}

/**
 * Runs the pg-boss job of a backup now, as a worker would (whatever its `startAfter`): the way tests make a
 * scheduled occurrence happen once the ManualClock has passed it, instead of waiting for real time.
 */
export async function runBackupJobNow(app: App, backupId: string): Promise<void> {
  const { rows } = await app.services.pool.query<{ job_id: string }>('select job_id from backups where id = $1', [backupId]);
  const jobId = rows[0]?.job_id;
  if (!jobId) throw new Error(`backup ${backupId} has no job`);
  const job = await app.services.boss.getJobById<BackupJobData>(BACKUP_QUEUE, jobId);
  if (!job) throw new Error(`job ${jobId} not found`);
  await app.services.backups.runner.run({ id: job.id, data: job.data, retryCount: job.retryCount, retryLimit: 3, signal: new AbortController().signal });
}

/** Checks a ZIP with two independent readers (Info-ZIP's `unzip -t` and Python's zipfile); returns its entries. */
export async function verifyZip(file: string): Promise<{ names: string[]; manifest: Record<string, unknown> }> {
  const unzip = await run('unzip', ['-t', file]);
  if (!/No errors detected/.test(unzip.stdout)) throw new Error(`unzip -t: ${unzip.stdout}`);
  const script = [
    'import json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'bad = z.testzip()',
    'assert bad is None, bad',
    'print(json.dumps({"names": z.namelist(), "manifest": json.loads(z.read("manifest.json"))}))',
  ].join('\n');
  const python = await run('python3', ['-c', script, file], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(python.stdout) as { names: string[]; manifest: Record<string, unknown> };
}

export const BACKUP_FIELDS = `id trigger status createdAt scheduledFor startedAt finishedAt fileName sizeBytes sha256 downloadable error
  requestedBy { id } progress { processedRecords totalRecords percent module } modules { module recordCount }`;

export interface BackupView {
  id: string;
  trigger: string;
  status: string;
  scheduledFor: string | null;
  fileName: string | null;
  sizeBytes: number | null;
  sha256: string | null;
  downloadable: boolean;
  error: string | null;
  requestedBy: { id: string } | null;
  progress: { processedRecords: number; totalRecords: number; percent: number; module: string | null } | null;
  modules: { module: string; recordCount: number }[];
}

/** Plain records generated inside PostgreSQL (independent of the CLI seed), for archives with some weight. */
export async function seedRecords(
  pool: pg.Pool,
  organizationId: string,
  counts: { leads: number; contacts: number; accounts: number; deals: number },
): Promise<void> {
  const org = [organizationId];
  await pool.query(
    `insert into accounts (organization_id, name, domain, industry)
     select $1, 'Account ' || g, 'account' || g || '.example.com', 'Retail' from generate_series(1, ${counts.accounts}) g`,
    org,
  );
  await pool.query(
    `insert into contacts (organization_id, first_name, last_name, email, phone, job_title, notes)
     select $1, 'First' || g, 'Last' || g, 'contact' || g || '@example.com', '+65 6000 ' || lpad(g::text, 4, '0'),
       'Engineer', case when g % 7 = 0 then '=HYPERLINK("x")' else 'note, with "quotes"' end
     from generate_series(1, ${counts.contacts}) g`,
    org,
  );
  await pool.query(
    `insert into leads (organization_id, first_name, last_name, email, company, status)
     select $1, 'Lead' || g, 'Person' || g, 'lead' || g || '@example.com', 'Company ' || g, 'NEW' from generate_series(1, ${counts.leads}) g`,
    org,
  );
  await pool.query(
    `insert into deals (organization_id, name, amount, currency, stage)
     select $1, 'Deal ' || g, g * 10, 'SGD', 'Proposal' from generate_series(1, ${counts.deals}) g`,
    org,
  );
}

/** What startTestApp returns (an app with its database). */
export type RunningApp = Awaited<ReturnType<typeof import('./test-app.ts').startTestApp>>;
