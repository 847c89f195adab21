/**
 * SQL of recompute tracking: each recompute or clearing job has a row, finished in the job's last transaction.
 * `RetentionSettings.recomputing` is true while a row is unfinished and its pg-boss job is still live (waiting,
 * retrying or running): a job failed for good, or deleted, does not leave the flag on forever.
 */
import { BOSS_SCHEMA } from '../../jobs/boss.ts';
import type { RetentionModule } from './retention-dates.ts';
import type { Queryable } from './retention.repository.ts';

/** The next number of the sequence that hand changes and recomputes share (see crm.table.ts). */
export async function nextVersion(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ v: string }>(`select nextval('retention_version_seq') as v`);
  return Number(rows[0]!.v);
}

export async function insertRecompute(
  db: Queryable,
  row: { organizationId: string; module: RetentionModule; asOf: number; at: Date },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    'insert into retention_recomputes (organization_id, module, as_of, created_at) values ($1, $2, $3, $4) returning id',
    [row.organizationId, row.module, row.asOf, row.at],
  );
  return rows[0]!.id;
}

export async function setRecomputeJob(db: Queryable, id: string, jobId: string): Promise<void> {
  await db.query('update retention_recomputes set job_id = $2 where id = $1', [id, jobId]);
}

/** Marks the recompute finished; false when it already was (a rerun of the job) or does not exist. */
export async function finishRecompute(db: Queryable, id: string, organizationId: string, at: Date): Promise<boolean> {
  const { rowCount } = await db.query(
    'update retention_recomputes set finished_at = $3 where id = $1 and organization_id = $2 and finished_at is null',
    [id, organizationId, at],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Forgets the organization's recomputes older than 30 days, finished or not: pg-boss has deleted their jobs by
 * then (7 days), so they no longer count, and the table stays the size of one month of settings changes.
 */
export async function pruneRecomputes(db: Queryable, organizationId: string, now: Date): Promise<void> {
  await db.query(`delete from retention_recomputes where organization_id = $1 and created_at < $2::timestamptz - interval '30 days'`, [
    organizationId,
    now,
  ]);
}

export async function isRecomputing(db: Queryable, organizationId: string, queue: string): Promise<boolean> {
  const { rows } = await db.query<{ busy: boolean }>(
    `select exists (
       select 1 from retention_recomputes r
       join ${BOSS_SCHEMA}.job j on j.name = $2 and j.id = r.job_id
       where r.organization_id = $1 and r.finished_at is null and j.state in ('created', 'retry', 'active')
     ) as busy`,
    [organizationId, queue],
  );
  return rows[0]?.busy ?? false;
}
