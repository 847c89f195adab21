import { setTimeout as sleep } from 'node:timers/promises';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { findOrganization } from '../auth/auth.repository.ts';
import { eventNotifyQuery } from '../../events/event-topics.ts';
import type { BlobUpload } from '../../storage/blob-store.ts';
import * as repo from './backup.repository.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { ArchiveResult } from '../../export/archive-builder.ts';
import type { BackupDeps } from './backup-deps.ts';
import { OverallProgress, ProgressThrottle, type ProgressPoint } from './backup-progress.ts';
import {
  enqueueRun,
  notifyFinished,
  planNextScheduled,
  recordTransition,
  type BackupJobData,
} from './backup-transitions.ts';
import type { BackupRow } from './backup.types.ts';

/** The parts of a pg-boss job the runner needs (tests may build one by hand). */
export interface BackupJob {
  id: string;
  data: BackupJobData;
  /** 0 on the first attempt, +1 on each retry. */
  retryCount: number;
  retryLimit: number;
  /** Aborted by pg-boss when this attempt lost its claim (heartbeat missed, cancelled). */
  signal?: AbortSignal;
}

export type ClaimOutcome =
  | { kind: 'run'; row: BackupRow }
  | { kind: 'wait'; seconds: number }
  | { kind: 'skip'; reason: string };

/** Where the archive of an attempt lives: one key per attempt, so a late writer never overwrites a newer one. */
export const storageKeyOf = (row: Pick<BackupRow, 'organizationId' | 'id'>, attempt: number) =>
  `${row.organizationId}/${row.id}-${attempt}.zip`;

/**
 * Runs backup jobs. Idempotent: a job for a backup that is not PENDING (or, for a retry of the job holding it,
 * RUNNING) does nothing, so a duplicate or replayed job is harmless. Every write of an attempt is fenced by
 * `attempts`: an attempt that lost the row (a retry took over, the watchdog failed it) cannot touch it again.
 */
export class BackupRunner {
  constructor(private readonly deps: BackupDeps) {}

  async run(job: BackupJob): Promise<void> {
    const outcome = await this.claim(job);
    if (outcome.kind === 'wait') return this.requeue(job.data, outcome.seconds);
    if (outcome.kind === 'skip') {
      this.deps.log.debug({ backupId: job.data.backupId, reason: outcome.reason }, 'backup job has nothing to do');
      return;
    }
    await this.execute(outcome.row, job);
  }

  /** PENDING → RUNNING (or a retry's take-over), deciding under the organization's lock. */
  claim(job: BackupJob): Promise<ClaimOutcome> {
    const { deps } = this;
    return withTransaction(deps.pool, async (tx) => {
      await repo.lockOrganizationBackups(tx.q, job.data.organizationId);
      const row = await repo.findBackupById(tx.q, job.data.backupId);
      if (!row || row.organizationId !== job.data.organizationId) return { kind: 'skip', reason: 'no such backup' };
      const attempt = { id: job.id, retry: job.retryCount };
      if (row.status === 'RUNNING') {
        const taken = await repo.takeOver(tx.q, row.id, attempt);
        if (!taken) return { kind: 'skip', reason: 'another attempt holds the backup' };
        await recordTransition(tx, deps, taken, 'STARTED');
        return { kind: 'run', row: taken };
      }
      if (row.status !== 'PENDING') return { kind: 'skip', reason: `backup is ${row.status}` };
      const now = deps.clock.now();
      if (row.scheduledFor && row.scheduledFor > now) {
        return { kind: 'wait', seconds: (row.scheduledFor.getTime() - now.getTime()) / 1000 };
      }
      const started = await repo.markRunning(tx.q, row.id, attempt, now);
      // Still PENDING under our lock, so the only reason is another backup of the organization running.
      if (!started) return { kind: 'wait', seconds: deps.tuning.busyRetrySeconds };
      await recordTransition(tx, deps, started, 'STARTED');
      if (started.trigger === 'SCHEDULED') await planNextScheduled(tx, deps, started.organizationId, started.scheduledFor, null);
      return { kind: 'run', row: started };
    });
  }

  /** A backup that cannot start yet gets a new job for later; the current one completes. */
  private async requeue(data: BackupJobData, seconds: number): Promise<void> {
    await withTransaction(this.deps.pool, async (tx) => {
      await repo.lockOrganizationBackups(tx.q, data.organizationId);
      const row = await repo.findBackupById(tx.q, data.backupId);
      if (row?.status === 'PENDING') await enqueueRun(tx, this.deps, row, seconds);
    });
  }

  private async execute(row: BackupRow, job: BackupJob): Promise<void> {
    const { deps } = this;
    const attempt = row.attempts;
    const fence = new AbortController();
    const signal = job.signal ? AbortSignal.any([job.signal, fence.signal]) : fence.signal;
    const key = storageKeyOf(row, attempt);
    let upload: BlobUpload | undefined;
    let progress: ProgressWriter | undefined;
    try {
      await this.discardEarlierAttempts(row, attempt);
      const estimates = await repo.countRecords(deps.pool, row.organizationId);
      progress = new ProgressWriter(deps, row, attempt, estimates, () => fence.abort(new Error('the backup is no longer ours')));
      upload = await deps.blobs.beginUpload(key);
      const builder = await deps.loadArchiveBuilder();
      const organization = await findOrganization(deps.db, row.organizationId);
      if (!organization) throw new Error('organization not found');
      const fileName = builder.archiveFileName(organization.name, row.startedAt ?? deps.clock.now());
      const result = await this.writeArchive(upload, (out) =>
        builder.buildArchive({
          connectionString: deps.databaseUrl,
          organizationId: row.organizationId,
          organization: { id: organization.id, name: organization.name },
          backupId: row.id,
          trigger: row.trigger,
          createdAt: row.createdAt,
          out,
          onProgress: (p) => progress?.report(p),
          signal,
        }),
      );
      await progress.settle();
      const done = await this.complete(row, attempt, { fileName, key, ...result });
      if (!done) await deps.blobs.delete(key); // fenced out after all: the newer attempt publishes its own
    } catch (error) {
      await upload?.abort();
      await progress?.settle();
      await this.handleFailure(row, attempt, job, error, fence.signal.aborted);
    }
  }

  /**
   * Streams the archive into the upload (through the test-only slow-down, if set), then publishes it. The
   * checksum recorded is the one measured on the bytes stored, cross-checked against the builder's.
   */
  private async writeArchive(
    upload: BlobUpload,
    build: (out: Writable) => Promise<ArchiveResult>,
  ): Promise<{ sizeBytes: number; sha256: string; modules: ArchiveResult['modules'] }> {
    const delay = this.deps.tuning.chunkDelayMs;
    const slow = delay > 0 ? slowStream(delay) : undefined;
    const piped = slow ? pipeline(slow, upload.stream) : Promise.resolve();
    piped.catch(() => undefined); // awaited below; a build failure is the error worth reporting
    const out = slow ?? upload.stream;
    const result = await build(out); // buildArchive ends `out` (or destroys it on failure)
    await piped;
    const written = await upload.commit();
    if (result.sizeBytes !== written.size || result.sha256.toLowerCase() !== written.sha256) {
      throw new Error(`archive checksum mismatch: built ${result.sizeBytes} bytes, stored ${written.size}`);
    }
    return { sizeBytes: written.size, sha256: written.sha256, modules: result.modules };
  }

  /** RUNNING → COMPLETED, then only the newest archives are kept. False when the attempt was fenced out. */
  private complete(
    row: BackupRow,
    attempt: number,
    archive: { fileName: string; key: string; sizeBytes: number; sha256: string; modules: ArchiveResult['modules'] },
  ): Promise<boolean> {
    const { deps } = this;
    const modules = archive.modules.map((m) => ({ module: m.module.toUpperCase(), recordCount: m.records }));
    const records = modules.reduce((sum, m) => sum + m.recordCount, 0);
    return withTransaction(deps.pool, async (tx) => {
      const done = await repo.markCompleted(tx.q, row.id, attempt, {
        at: deps.clock.now(),
        fileName: archive.fileName,
        storageKey: archive.key,
        sizeBytes: archive.sizeBytes,
        sha256: archive.sha256,
        modules,
        records,
      });
      if (!done) return false;
      await recordTransition(tx, deps, done, 'COMPLETED');
      await notifyFinished(tx, deps, done);
      const expired = await repo.expireBeyond(tx.q, row.organizationId, deps.tuning.keepArchives);
      for (const old of expired) await recordTransition(tx, deps, old, 'EXPIRED');
      tx.afterCommit(() => this.deleteArchives(expired));
      return true;
    });
  }

  private async handleFailure(row: BackupRow, attempt: number, job: BackupJob, error: unknown, fenced: boolean): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const log = this.deps.log.child({ backupId: row.id, attempt });
    if (fenced) {
      log.warn('backup attempt stopped: another attempt or the watchdog took the backup over');
      return;
    }
    if (job.signal?.aborted || job.retryCount < job.retryLimit) {
      // pg-boss retries the job; the retry takes the RUNNING row over and starts the archive afresh.
      log.warn({ err: message, retry: job.retryCount }, 'backup attempt failed; it will be retried');
      throw error;
    }
    log.error({ err: message }, 'backup failed');
    await this.fail(row.id, attempt, publicReason(error));
  }

  /** RUNNING → FAILED for `attempt` (null: whoever holds it), with its event and notification. */
  async fail(backupId: string, attempt: number | null, reason: string): Promise<boolean> {
    const { deps } = this;
    return withTransaction(deps.pool, async (tx) => {
      const failed = await repo.markFailed(tx.q, backupId, attempt, reason.slice(0, 500), deps.clock.now());
      if (!failed) return false;
      await recordTransition(tx, deps, failed, 'FAILED');
      await notifyFinished(tx, deps, failed);
      tx.afterCommit(() => this.deleteArchives([{ ...failed, storageKey: storageKeyOf(failed, failed.attempts) }]));
      return true;
    });
  }

  /** A retry starts afresh: whatever an earlier attempt of this backup left (a `.part` file, an orphan) goes. */
  private async discardEarlierAttempts(row: BackupRow, attempt: number): Promise<void> {
    for (let n = 1; n < attempt; n += 1) await this.deps.blobs.delete(storageKeyOf(row, n));
  }

  private async deleteArchives(rows: BackupRow[]): Promise<void> {
    for (const row of rows) {
      if (!row.storageKey) continue;
      // The row is already EXPIRED or FAILED (not downloadable); a file left behind is logged, not fatal.
      await this.deps.blobs.delete(row.storageKey).catch((error: Error) => {
        this.deps.log.error({ backupId: row.id, err: error.message }, 'could not delete a backup archive');
      });
    }
  }
}

/**
 * Persists and announces progress (row + PROGRESS event), throttled, one write at a time, never blocking the
 * archive: reports that arrive while a write is in flight replace each other, and the latest is written next.
 */
class ProgressWriter {
  private readonly throttle = new ProgressThrottle();
  private readonly overall: OverallProgress;
  private pending: ProgressPoint | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly deps: BackupDeps,
    private readonly row: BackupRow,
    private readonly attempt: number,
    estimates: Map<string, number>,
    private readonly onLost: () => void,
  ) {
    this.overall = new OverallProgress(estimates);
  }

  /** The builder reports per module; clients see the whole backup. Never blocks the builder. */
  report(point: { module: string; processedRecords: number; totalRecords: number }): void {
    const whole = this.overall.update(point.module, point.processedRecords, point.totalRecords);
    if (!this.throttle.accept(whole, performance.now())) return;
    this.pending = whole;
    this.inFlight ??= this.drain();
  }

  /** Waits until every accepted report is written, so PROGRESS never follows COMPLETED. */
  async settle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending) {
        const point = this.pending;
        this.pending = undefined;
        await this.write(point);
      }
    } finally {
      this.inFlight = undefined;
    }
  }

  private async write(point: ProgressPoint): Promise<void> {
    const { deps, row } = this;
    try {
      const ours = await repo.saveProgress(deps.pool, row.id, this.attempt, {
        processed: point.processedRecords,
        total: point.totalRecords,
        module: point.module,
      });
      if (!ours) {
        this.onLost();
        return;
      }
      const at = deps.clock.now().toISOString();
      await deps.pool.query(eventNotifyQuery('backupEvent', row.organizationId, { backupId: row.id, kind: 'PROGRESS', at }));
    } catch (error) {
      // Progress is advisory; losing one update must not fail the backup.
      deps.log.warn({ backupId: row.id, err: (error as Error).message }, 'could not save backup progress');
    }
  }
}

/**
 * What admins read in `Backup.error`: the kind of failure, never paths, SQL or values (those go to the log).
 */
export function publicReason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `The archive could not be stored (${code})`;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return `The database could not be read (SQLSTATE ${code})`;
  if (error instanceof Error && error.name === 'AbortError') return 'The backup was interrupted';
  return 'The archive could not be built';
}

/** Test-only: passes chunks on after a pause, so a backup lasts long enough to be killed mid-way. */
function slowStream(delayMs: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sleep(delayMs).then(() => callback(null, chunk), callback);
    },
  });
}
