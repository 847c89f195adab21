import type pg from 'pg';
import type { ModuleSummary } from './backup.table.ts';
import type { BackupRow, BackupStatusName, BackupTriggerName } from './backup.types.ts';

/** Anything that runs a query: the pool, or the client of a transaction. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

const COLUMNS = `id, organization_id AS "organizationId", trigger, status, requested_by AS "requestedBy",
  created_at AS "createdAt", scheduled_for AS "scheduledFor", started_at AS "startedAt", finished_at AS "finishedAt",
  processed_records AS "processedRecords", total_records AS "totalRecords", progress_module AS "progressModule",
  modules, file_name AS "fileName", storage_key AS "storageKey", size_bytes AS "sizeBytes", sha256, error, attempts,
  job_id AS "jobId", job_retry AS "jobRetry"`;

async function one(q: Queryable, text: string, values: unknown[]): Promise<BackupRow | undefined> {
  const { rows } = await q.query<BackupRow>(text, values);
  return rows[0];
}

// Two-key advisory locks: the first key keeps backups apart from any other lock user (migrations use one key).
const BACKUP_LOCK_SPACE = 72_018;

/**
 * Serializes the decisions "may a backup be requested / start now" of one organization across every process.
 * Held until the transaction ends; taken before reading, so each decision reads what the previous one committed.
 */
export async function lockOrganizationBackups(q: Queryable, organizationId: string): Promise<void> {
  await q.query('select pg_advisory_xact_lock($1, hashtext($2))', [BACKUP_LOCK_SPACE, organizationId]);
}

export function findBackup(q: Queryable, organizationId: string, id: string): Promise<BackupRow | undefined> {
  return one(q, `SELECT ${COLUMNS} FROM backups WHERE organization_id = $1 AND id = $2`, [organizationId, id]);
}

/** Unscoped: for job handlers and signed download links, which carry their own authority. */
export function findBackupById(q: Queryable, id: string): Promise<BackupRow | undefined> {
  return one(q, `SELECT ${COLUMNS} FROM backups WHERE id = $1`, [id]);
}

/** Whether a manual request must be refused: something runs, or a manual one already waits. */
export async function hasRunningOrPendingManual(q: Queryable, organizationId: string): Promise<boolean> {
  const { rows } = await q.query(
    `SELECT 1 FROM backups WHERE organization_id = $1
       AND (status = 'RUNNING' OR (status = 'PENDING' AND trigger = 'MANUAL')) LIMIT 1`,
    [organizationId],
  );
  return rows.length > 0;
}

/** A new PENDING backup; undefined when one of that trigger already waits (the partial unique index). */
export function insertPending(
  q: Queryable,
  values: { organizationId: string; trigger: BackupTriggerName; requestedBy: string | null; createdAt: Date; scheduledFor: Date | null },
): Promise<BackupRow | undefined> {
  return one(
    q,
    `INSERT INTO backups (organization_id, trigger, status, requested_by, created_at, scheduled_for)
     VALUES ($1, $2, 'PENDING', $3, $4, $5)
     ON CONFLICT (organization_id, trigger) WHERE status = 'PENDING' DO NOTHING
     RETURNING ${COLUMNS}`,
    [values.organizationId, values.trigger, values.requestedBy, values.createdAt, values.scheduledFor],
  );
}

/** The backup a settings page shows as "in progress": the RUNNING one, else a PENDING manual one. */
export function findActive(q: Queryable, organizationId: string): Promise<BackupRow | undefined> {
  return one(
    q,
    `SELECT ${COLUMNS} FROM backups WHERE organization_id = $1
       AND (status = 'RUNNING' OR (status = 'PENDING' AND trigger = 'MANUAL'))
     ORDER BY (status = 'RUNNING') DESC, created_at DESC LIMIT 1`,
    [organizationId],
  );
}

export function findPendingScheduled(q: Queryable, organizationId: string): Promise<BackupRow | undefined> {
  return one(
    q,
    `SELECT ${COLUMNS} FROM backups WHERE organization_id = $1 AND trigger = 'SCHEDULED' AND status = 'PENDING'`,
    [organizationId],
  );
}

/**
 * PENDING → RUNNING, the one conditional UPDATE that races with cancellation: whichever commits first wins, the
 * other matches no row. Refuses while another backup of the organization runs (the unique index backs this up).
 */
export function markRunning(q: Queryable, id: string, job: { id: string; retry: number }, at: Date): Promise<BackupRow | undefined> {
  return one(
    q,
    `UPDATE backups b SET status = 'RUNNING', started_at = $4, job_id = $2, job_retry = $3, attempts = b.attempts + 1,
       processed_records = 0, total_records = 0, progress_module = NULL
     WHERE b.id = $1 AND b.status = 'PENDING'
       AND NOT EXISTS (SELECT 1 FROM backups r WHERE r.organization_id = b.organization_id AND r.status = 'RUNNING')
     RETURNING ${COLUMNS}`,
    [id, job.id, job.retry, at],
  );
}

/** A retry of the job that holds a RUNNING row takes it over from the attempt that died; the fence moves on. */
export function takeOver(q: Queryable, id: string, job: { id: string; retry: number }): Promise<BackupRow | undefined> {
  return one(
    q,
    `UPDATE backups SET job_retry = $3, attempts = attempts + 1, processed_records = 0, total_records = 0, progress_module = NULL
     WHERE id = $1 AND status = 'RUNNING' AND job_id = $2 AND job_retry < $3
     RETURNING ${COLUMNS}`,
    [id, job.id, job.retry],
  );
}

/** PENDING → CANCELLED, the other side of the race with `markRunning`. */
export function cancelPending(q: Queryable, organizationId: string, id: string, at: Date): Promise<BackupRow | undefined> {
  return one(
    q,
    `UPDATE backups SET status = 'CANCELLED', finished_at = $3
     WHERE organization_id = $1 AND id = $2 AND status = 'PENDING' RETURNING ${COLUMNS}`,
    [organizationId, id, at],
  );
}

/** Progress of the attempt `attempt`; false when that attempt no longer owns the row. */
export async function saveProgress(
  q: Queryable,
  id: string,
  attempt: number,
  progress: { processed: number; total: number; module: string | null },
): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE backups SET processed_records = $3, total_records = $4, progress_module = $5
     WHERE id = $1 AND status = 'RUNNING' AND attempts = $2`,
    [id, attempt, progress.processed, progress.total, progress.module],
  );
  return rowCount === 1;
}

export function markCompleted(
  q: Queryable,
  id: string,
  attempt: number,
  values: { at: Date; fileName: string; storageKey: string; sizeBytes: number; sha256: string; modules: ModuleSummary[]; records: number },
): Promise<BackupRow | undefined> {
  return one(
    q,
    `UPDATE backups SET status = 'COMPLETED', finished_at = $3, file_name = $4, storage_key = $5, size_bytes = $6,
       sha256 = $7, modules = $8::jsonb, processed_records = $9, total_records = $9, progress_module = NULL, error = NULL
     WHERE id = $1 AND status = 'RUNNING' AND attempts = $2 RETURNING ${COLUMNS}`,
    [id, attempt, values.at, values.fileName, values.storageKey, values.sizeBytes, values.sha256, JSON.stringify(values.modules), values.records],
  );
}

/** RUNNING → FAILED for the attempt `attempt`, or (attempt null) whoever holds it: the watchdog's verdict. */
export function markFailed(q: Queryable, id: string, attempt: number | null, error: string, at: Date): Promise<BackupRow | undefined> {
  return one(
    q,
    `UPDATE backups SET status = 'FAILED', finished_at = $4, error = $3
     WHERE id = $1 AND status = 'RUNNING' AND ($2::int IS NULL OR attempts = $2) RETURNING ${COLUMNS}`,
    [id, attempt, error, at],
  );
}

/** COMPLETED archives beyond the newest `keep` turn EXPIRED; returns them (their files are to be deleted). */
export async function expireBeyond(q: Queryable, organizationId: string, keep: number): Promise<BackupRow[]> {
  const { rows } = await q.query<BackupRow>(
    `UPDATE backups SET status = 'EXPIRED'
     WHERE id IN (
       SELECT id FROM backups WHERE organization_id = $1 AND status = 'COMPLETED'
       ORDER BY finished_at DESC, started_at DESC, id DESC OFFSET $2 FOR UPDATE)
     RETURNING ${COLUMNS}`,
    [organizationId, keep],
  );
  return rows;
}

/** Newest first; keyset-paged on (createdAt, id); fetches limit + 1. */
export async function listBackups(
  q: Queryable,
  organizationId: string,
  opts: { limit: number; before?: { createdAt: string; id: string }; statuses?: BackupStatusName[] },
): Promise<BackupRow[]> {
  const values: unknown[] = [organizationId, opts.limit + 1, opts.statuses ?? null];
  let keyset = '';
  if (opts.before) {
    values.push(opts.before.createdAt, opts.before.id);
    keyset = 'AND (created_at, id) < ($4::timestamptz, $5::uuid)';
  }
  const { rows } = await q.query<BackupRow>(
    `SELECT ${COLUMNS} FROM backups
     WHERE organization_id = $1 AND ($3::text[] IS NULL OR status = ANY($3::text[])) ${keyset}
     ORDER BY created_at DESC, id DESC LIMIT $2`,
    values,
  );
  return rows;
}

export async function countBackups(q: Queryable, organizationId: string, statuses?: BackupStatusName[]): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM backups WHERE organization_id = $1 AND ($2::text[] IS NULL OR status = ANY($2::text[]))`,
    [organizationId, statuses ?? null],
  );
  return rows[0]?.n ?? 0;
}

/** Every RUNNING backup (all organizations): the watchdog checks that each still has a live job. */
export async function listRunning(q: Queryable): Promise<BackupRow[]> {
  const { rows } = await q.query<BackupRow>(`SELECT ${COLUMNS} FROM backups WHERE status = 'RUNNING'`);
  return rows;
}

/** PENDING backups whose time came before `before`: the watchdog checks that their job still exists. */
export async function listOverduePending(q: Queryable, before: Date): Promise<BackupRow[]> {
  const { rows } = await q.query<BackupRow>(
    `SELECT ${COLUMNS} FROM backups WHERE status = 'PENDING' AND COALESCE(scheduled_for, created_at) < $1`,
    [before],
  );
  return rows;
}

export async function adminIds(q: Queryable, organizationId: string): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM users WHERE organization_id = $1 AND role = 'ADMIN' ORDER BY id`,
    [organizationId],
  );
  return rows.map((r) => r.id);
}

/** The job that will run a PENDING backup (the watchdog re-sends it if the job is lost). */
export async function setJobId(q: Queryable, id: string, jobId: string): Promise<void> {
  await q.query(`UPDATE backups SET job_id = $2 WHERE id = $1 AND status = 'PENDING'`, [id, jobId]);
}

/** Records per module of an organization: the progress estimate before the archive's snapshot is taken. */
export async function countRecords(q: Queryable, organizationId: string): Promise<Map<string, number>> {
  const { rows } = await q.query<{ module: string; n: number }>(
    `SELECT 'LEADS' AS module, count(*)::int AS n FROM leads WHERE organization_id = $1
     UNION ALL SELECT 'CONTACTS', count(*)::int FROM contacts WHERE organization_id = $1
     UNION ALL SELECT 'ACCOUNTS', count(*)::int FROM accounts WHERE organization_id = $1
     UNION ALL SELECT 'DEALS', count(*)::int FROM deals WHERE organization_id = $1`,
    [organizationId],
  );
  return new Map(rows.map((r) => [r.module, r.n]));
}
