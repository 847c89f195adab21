import { withTransaction, type TxScope } from '../../db/transaction.ts';
import type { JobAttempt } from '../../jobs/job-attempt.ts';
import { enqueueInTransaction } from '../../jobs/job-enqueue.ts';
import { finishTracked } from '../../jobs/job-finish.ts';
import type { Viewer } from '../auth/auth.types.ts';
import { notFound } from '../../shared/app-error.ts';
import { backupAlreadyStarted, backupInProgress, backupNotCancellable } from './backup.errors.ts';
import * as repo from './backup.repository.ts';
import type { BackupDeps } from './backup-deps.ts';
import { notifyFinished, recordTransition } from './backup-events.ts';
import { findSettings } from './backup-settings.repository.ts';
import { nextOccurrence, parseSchedule } from './backup-schedule.ts';
import type { BackupRow } from './backup.types.ts';

export const BACKUP_QUEUE = 'backup';
export interface BackupJobData {
  backupId: string;
  organizationId: string;
}
export type BackupJob = JobAttempt<BackupJobData>;

export type ClaimOutcome =
  | { kind: 'run'; row: BackupRow }
  | { kind: 'wait'; seconds: number }
  | { kind: 'skip'; reason: string };

/** What a finished archive leaves on the row. */
export interface ArchiveRecord {
  fileName: string;
  key: string;
  sizeBytes: number;
  sha256: string;
  modules: { module: string; records: number }[];
}

/** Where the archive of an attempt lives: one key per attempt, so a late writer never overwrites a newer one. */
export const storageKeyOf = (row: Pick<BackupRow, 'organizationId' | 'id'>, attempt: number) =>
  `${row.organizationId}/${row.id}-${attempt}.zip`;

/**
 * Every state change of a backup (DESIGN.md "Backups"), each one conditional UPDATE under the organization's
 * lock, committed with its job, activity event, NOTIFY and notification:
 *
 *   (none) → PENDING  requestManual, planNextScheduled       PENDING → RUNNING    claim
 *   PENDING → CANCELLED  cancel, cancelPlanned               RUNNING → RUNNING    claim (a retry takes over)
 *   RUNNING → COMPLETED  complete (→ EXPIRED beyond the kept) RUNNING → FAILED    fail
 *
 * PENDING → RUNNING and PENDING → CANCELLED both require PENDING in their WHERE: exactly one of them wins.
 * Writes of a running attempt are fenced by `attempts`.
 */
export class BackupStateMachine {
  constructor(private readonly deps: BackupDeps) {}

  /** BACKUP_IN_PROGRESS while one runs or a manual one waits; a waiting scheduled one does not block. */
  requestManual(viewer: Viewer): Promise<BackupRow> {
    return this.locked(viewer.organizationId, async (tx) => {
      if (await repo.hasRunningOrPendingManual(tx.q, viewer.organizationId)) throw backupInProgress();
      const row = await repo.insertPending(tx.q, {
        organizationId: viewer.organizationId,
        trigger: 'MANUAL',
        requestedBy: viewer.userId,
        createdAt: this.deps.clock.now(),
        scheduledFor: null,
      });
      if (!row) throw backupInProgress(); // the unique index, should the lock ever be bypassed
      await this.enqueueRun(tx, row, 0);
      await recordTransition(tx, this.deps, row, 'PENDING', viewer.userId);
      return row;
    });
  }

  /**
   * Plans the scheduled occurrence after `after` (or after now, when `after` has passed: missed occurrences run
   * once, not once per miss) when auto backup is on. In the caller's transaction, which holds the lock.
   */
  async planNextScheduled(tx: TxScope, organizationId: string, after: Date | null, actorId: string | null): Promise<BackupRow | undefined> {
    const settings = await findSettings(tx.q, organizationId);
    if (!settings?.autoBackupEnabled) return undefined;
    const parsed = parseSchedule({ ...settings, frequency: settings.frequency ?? '', timeOfDay: settings.timeOfDay ?? '' });
    if (!parsed.ok) {
      // Stored settings were validated when saved; reaching this is a bug worth a loud log, not a failed backup.
      this.deps.log.error({ org: organizationId, field: parsed.field }, 'stored backup schedule is invalid; nothing planned');
      return undefined;
    }
    const now = this.deps.clock.now();
    const scheduledFor = nextOccurrence(parsed.schedule, after && after > now ? after : now);
    const row = await repo.insertPending(tx.q, { organizationId, trigger: 'SCHEDULED', requestedBy: null, createdAt: now, scheduledFor });
    if (!row) return repo.findPendingScheduled(tx.q, organizationId);
    await this.enqueueRun(tx, row, (scheduledFor.getTime() - now.getTime()) / 1000);
    await recordTransition(tx, this.deps, row, 'PENDING', actorId);
    return row;
  }

  /** PENDING → CANCELLED; a cancelled scheduled occurrence makes room for the next one. */
  cancel(viewer: Viewer, id: string): Promise<BackupRow> {
    return this.locked(viewer.organizationId, async (tx) => {
      const cancelled = await repo.cancelPending(tx.q, viewer.organizationId, id, this.deps.clock.now());
      if (!cancelled) {
        const existing = await repo.findBackup(tx.q, viewer.organizationId, id);
        if (!existing) throw notFound('backup');
        if (existing.status === 'RUNNING') throw backupAlreadyStarted();
        throw backupNotCancellable(existing.status);
      }
      await recordTransition(tx, this.deps, cancelled, 'CANCELLED', viewer.userId);
      if (cancelled.trigger === 'SCHEDULED') await this.planNextScheduled(tx, viewer.organizationId, cancelled.scheduledFor, viewer.userId);
      return cancelled;
    });
  }

  /** PENDING → CANCELLED for the occurrence an old schedule planned, in the settings change's transaction. */
  async cancelPlanned(tx: TxScope, viewer: Viewer, at: Date): Promise<void> {
    const planned = await repo.findPendingScheduled(tx.q, viewer.organizationId);
    if (!planned) return;
    // Its job stays queued and finds the row CANCELLED: a no-op, like any replayed job.
    const cancelled = await repo.cancelPending(tx.q, viewer.organizationId, planned.id, at);
    if (cancelled) await recordTransition(tx, this.deps, cancelled, 'CANCELLED', viewer.userId);
  }

  /** PENDING → RUNNING (or a retry's take-over of RUNNING), deciding under the organization's lock. */
  claim(job: BackupJob): Promise<ClaimOutcome> {
    return this.locked(job.data.organizationId, async (tx): Promise<ClaimOutcome> => {
      const row = await repo.findBackupById(tx.q, job.data.backupId);
      if (!row || row.organizationId !== job.data.organizationId) return { kind: 'skip', reason: 'no such backup' };
      const attempt = { id: job.id, retry: job.retryCount };
      if (row.status === 'RUNNING') {
        const taken = await repo.takeOver(tx.q, row.id, attempt);
        if (!taken) return { kind: 'skip', reason: 'another attempt holds the backup' };
        await recordTransition(tx, this.deps, taken, 'STARTED');
        return { kind: 'run', row: taken };
      }
      if (row.status !== 'PENDING') return { kind: 'skip', reason: `backup is ${row.status}` };
      const now = this.deps.clock.now();
      if (row.scheduledFor && row.scheduledFor > now) return { kind: 'wait', seconds: (row.scheduledFor.getTime() - now.getTime()) / 1000 };
      const started = await repo.markRunning(tx.q, row.id, attempt, now);
      // Still PENDING under our lock, so the only reason is another backup of the organization running.
      if (!started) return { kind: 'wait', seconds: this.deps.options.busyRetrySeconds };
      await recordTransition(tx, this.deps, started, 'STARTED');
      if (started.trigger === 'SCHEDULED') await this.planNextScheduled(tx, started.organizationId, started.scheduledFor, null);
      return { kind: 'run', row: started };
    });
  }

  /** A PENDING backup that cannot start yet (or whose job was lost: `onlyIfJob`) gets a new job. */
  resend(data: BackupJobData, seconds: number, onlyIfJob?: string | null): Promise<boolean> {
    return this.locked(data.organizationId, async (tx) => {
      const row = await repo.findBackupById(tx.q, data.backupId);
      if (row?.status !== 'PENDING' || (onlyIfJob !== undefined && row.jobId !== onlyIfJob)) return false;
      await this.enqueueRun(tx, row, seconds);
      return true;
    });
  }

  /** RUNNING → COMPLETED, then only the newest archives are kept. False when the attempt was fenced out. */
  async complete(row: BackupRow, attempt: number, archive: ArchiveRecord): Promise<boolean> {
    const modules = archive.modules.map((m) => ({ module: m.module.toUpperCase(), recordCount: m.records }));
    let expired: BackupRow[] = [];
    const done = await finishTracked(this.deps.pool, {
      mark: (tx) =>
        repo.markCompleted(tx.q, row.id, attempt, {
          at: this.deps.clock.now(),
          fileName: archive.fileName,
          storageKey: archive.key,
          sizeBytes: archive.sizeBytes,
          sha256: archive.sha256,
          modules,
          records: modules.reduce((sum, m) => sum + m.recordCount, 0),
        }),
      announce: async (tx, completed) => {
        await recordTransition(tx, this.deps, completed, 'COMPLETED');
        await notifyFinished(tx, this.deps, completed);
        expired = await repo.expireBeyond(tx.q, row.organizationId, this.deps.options.keepArchives);
        for (const old of expired) await recordTransition(tx, this.deps, old, 'EXPIRED');
      },
      cleanUp: () => this.deleteArchives(expired),
    });
    return done !== undefined;
  }

  /** RUNNING → FAILED for `attempt` (null: whoever holds it), with its event and notification. */
  async fail(backupId: string, attempt: number | null, reason: string): Promise<boolean> {
    const failed = await finishTracked(this.deps.pool, {
      mark: (tx) => repo.markFailed(tx.q, backupId, attempt, reason.slice(0, 500), this.deps.clock.now()),
      announce: async (tx, row) => {
        await recordTransition(tx, this.deps, row, 'FAILED');
        await notifyFinished(tx, this.deps, row);
      },
      cleanUp: (row) => this.deleteArchives([{ ...row, storageKey: storageKeyOf(row, row.attempts) }]),
    });
    if (failed !== undefined) this.deps.metrics.backupFinished({ outcome: 'failed' });
    return failed !== undefined;
  }

  /** Sends the job that runs `row`, in the transaction that wrote the row: neither exists without the other. */
  private async enqueueRun(tx: TxScope, row: BackupRow, startAfterSeconds: number): Promise<void> {
    const data: BackupJobData = { backupId: row.id, organizationId: row.organizationId };
    const jobId = await enqueueInTransaction(this.deps.boss, tx.q, BACKUP_QUEUE, data, { startAfterSeconds });
    await repo.setJobId(tx.q, row.id, jobId);
  }

  /** Decisions about an organization's backups are serialized across every process (advisory lock). */
  private locked<T>(organizationId: string, fn: (tx: TxScope) => Promise<T>): Promise<T> {
    return withTransaction(this.deps.pool, async (tx) => {
      await repo.lockOrganizationBackups(tx.q, organizationId);
      return fn(tx);
    });
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
