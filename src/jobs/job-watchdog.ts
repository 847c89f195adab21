import type { PgBoss } from 'pg-boss';

const LIVE_JOB_STATES = new Set(['created', 'retry', 'active']);

/** A domain row that a job runs: its id and the pg-boss job it was last given. */
export interface TrackedRow {
  id: string;
  jobId: string | null;
}

export interface WatchdogPass<R extends TrackedRow> {
  queue: string;
  /** Rows that claim to run: each must still have a live job. */
  running: R[];
  /** Rows overdue to start: each must still have a job to start them. */
  overdue: R[];
  /** The row's job is over while it runs: fail it (false when its state changed meanwhile). */
  fail(row: R): Promise<boolean>;
  /** The row's job is lost before it began: give it a new one (false when its state changed meanwhile). */
  resend(row: R): Promise<boolean>;
}

/**
 * Nothing stays running without a job, nothing waits for a job that no longer exists: pg-boss's own expiry and
 * retries cover a dead worker, this covers the job that was failed for good, archived or deleted.
 */
export async function watchdogPass<R extends TrackedRow>(boss: PgBoss, pass: WatchdogPass<R>): Promise<{ failed: number; requeued: number }> {
  let failed = 0;
  let requeued = 0;
  for (const row of pass.running) {
    if (!(await isJobLive(boss, pass.queue, row.jobId)) && (await pass.fail(row))) failed += 1;
  }
  for (const row of pass.overdue) {
    if (!(await isJobLive(boss, pass.queue, row.jobId)) && (await pass.resend(row))) requeued += 1;
  }
  return { failed, requeued };
}

export async function isJobLive(boss: PgBoss, queue: string, jobId: string | null): Promise<boolean> {
  if (!jobId) return false;
  const job = await boss.getJobById(queue, jobId);
  return job !== null && LIVE_JOB_STATES.has(job.state);
}
