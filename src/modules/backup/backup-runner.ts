import type { ArchiveResult } from '../../export/archive-builder.ts';
import { AttemptFence, willRetry } from '../../jobs/job-attempt.ts';
import { ProgressPublisher } from '../../jobs/job-progress.ts';
import { BlobStoreError, type BlobUpload } from '../../storage/blob-store.ts';
import { findOrganization } from '../auth/auth.repository.ts';
import * as repo from './backup.repository.ts';
import type { BackupDeps } from './backup-deps.ts';
import { publishProgress } from './backup-events.ts';
import { OverallProgress } from './backup-progress.ts';
import { storageKeyOf, type ArchiveRecord, type BackupJob, type BackupStateMachine, type ClaimOutcome } from './backup-state-machine.ts';
import type { BackupRow } from './backup.types.ts';

type ModuleProgress = (point: { module: string; processedRecords: number; totalRecords: number }) => void;

/**
 * Runs backup jobs: claim the row, stream the archive into the blob store, finish the row. Idempotent: a job
 * for a backup that is not PENDING (or, for a retry of the job holding it, RUNNING) does nothing, so a
 * duplicate or replayed job is harmless. Every write of an attempt is fenced by `attempts`: an attempt that
 * lost the row (a retry took over, the watchdog failed it) cannot touch it again.
 */
export class BackupRunner {
  constructor(
    private readonly deps: BackupDeps,
    private readonly machine: BackupStateMachine,
  ) {}

  async run(job: BackupJob): Promise<void> {
    const outcome = await this.claim(job);
    if (outcome.kind === 'wait') {
      // A backup that cannot start yet gets a new job for later; the current one completes.
      await this.machine.resend(job.data, outcome.seconds);
      return;
    }
    if (outcome.kind === 'skip') {
      this.deps.log.debug({ backupId: job.data.backupId, reason: outcome.reason }, 'backup job has nothing to do');
      return;
    }
    await this.execute(outcome.row, job);
  }

  claim(job: BackupJob): Promise<ClaimOutcome> {
    return this.machine.claim(job);
  }

  fail(backupId: string, attempt: number | null, reason: string): Promise<boolean> {
    return this.machine.fail(backupId, attempt, reason);
  }

  private async execute(row: BackupRow, job: BackupJob): Promise<void> {
    const { deps } = this;
    const attempt = row.attempts;
    const fence = new AttemptFence(job.signal);
    const began = performance.now();
    const key = storageKeyOf(row, attempt);
    let upload: BlobUpload | undefined;
    let progress: ProgressPublisher | undefined;
    try {
      await this.discardEarlierAttempts(row, attempt);
      const overall = new OverallProgress(await repo.countRecords(deps.pool, row.organizationId));
      const publisher = this.progressPublisher(row, attempt, fence);
      progress = publisher;
      upload = await deps.blobs.beginUpload(key);
      const onProgress: ModuleProgress = (p) => publisher.report(overall.update(p.module, p.processedRecords, p.totalRecords));
      const archive = await this.writeArchive(row, upload, onProgress, fence.signal);
      await progress.settle();
      const done = await this.machine.complete(row, attempt, { ...archive, key });
      if (!done) await deps.blobs.delete(key); // fenced out after all: the newer attempt publishes its own
      else deps.metrics.backupFinished({ outcome: 'completed', seconds: (performance.now() - began) / 1000, records: recordsOf(archive), bytes: archive.sizeBytes });
    } catch (error) {
      await upload?.abort();
      await progress?.settle();
      await this.handleFailure(row, attempt, job, error, fence.lost);
    }
  }

  /** Progress of the attempt: saved on the row (fenced) and announced, throttled. */
  private progressPublisher(row: BackupRow, attempt: number, fence: AttemptFence): ProgressPublisher {
    const { deps } = this;
    return new ProgressPublisher(
      async (point) => {
        const ours = await repo.saveProgress(deps.pool, row.id, attempt, {
          processed: point.processedRecords,
          total: point.totalRecords,
          module: point.module,
        });
        if (ours) await publishProgress(deps, row);
        return ours;
      },
      {
        onLost: () => fence.lose(),
        onError: (error) => deps.log.warn({ backupId: row.id, err: error.message }, 'could not save backup progress'),
      },
    );
  }

  /**
   * Streams the archive into the upload, then publishes it. The checksum recorded is the one measured on the
   * bytes stored, cross-checked against the builder's.
   */
  private async writeArchive(
    row: BackupRow,
    upload: BlobUpload,
    onProgress: ModuleProgress,
    signal: AbortSignal,
  ): Promise<Omit<ArchiveRecord, 'key'>> {
    const { deps } = this;
    const builder = await deps.loadArchiveBuilder();
    const organization = await findOrganization(deps.db, row.organizationId);
    if (!organization) throw new Error('organization not found');
    const fileName = builder.archiveFileName(organization.name, row.startedAt ?? deps.clock.now());
    const result: ArchiveResult = await builder.buildArchive({
      connectionString: deps.snapshotDatabaseUrl,
      organizationId: row.organizationId,
      organization: { id: organization.id, name: organization.name },
      backupId: row.id,
      trigger: row.trigger,
      createdAt: row.createdAt,
      out: upload.stream, // buildArchive ends it (or destroys it on failure)
      onProgress,
      signal,
      inline: deps.options.exportOnJobThread,
    });
    const written = await upload.commit();
    if (result.sizeBytes !== written.size || result.sha256.toLowerCase() !== written.sha256) {
      throw new Error(`archive checksum mismatch: built ${result.sizeBytes} bytes, stored ${written.size}`);
    }
    return { fileName, sizeBytes: written.size, sha256: written.sha256, modules: result.modules };
  }

  private async handleFailure(row: BackupRow, attempt: number, job: BackupJob, error: unknown, fenced: boolean): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const log = this.deps.log.child({ backupId: row.id, attempt });
    if (fenced) {
      log.warn('backup attempt stopped: another attempt or the watchdog took the backup over');
      return;
    }
    if (willRetry(job)) {
      // pg-boss retries the job; the retry takes the RUNNING row over and starts the archive afresh.
      log.warn({ err: message, retry: job.retryCount }, 'backup attempt failed; it will be retried');
      throw error;
    }
    log.error({ err: message }, 'backup failed');
    await this.machine.fail(row.id, attempt, publicReason(error));
  }

  /** A retry starts afresh: whatever an earlier attempt of this backup left (a `.part` file, an orphan) goes. */
  private async discardEarlierAttempts(row: BackupRow, attempt: number): Promise<void> {
    for (let n = 1; n < attempt; n += 1) await this.deps.blobs.delete(storageKeyOf(row, n));
  }
}

function recordsOf(archive: Pick<ArchiveRecord, 'modules'>): number {
  return archive.modules.reduce((sum, m) => sum + m.records, 0);
}

/**
 * What admins read in `Backup.error`: the kind of failure, never paths, SQL or values (those go to the log).
 */
export function publicReason(error: unknown): string {
  if (error instanceof BlobStoreError) return `The archive could not be stored (${error.code})`;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `The archive could not be stored (${code})`;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return `The database could not be read (SQLSTATE ${code})`;
  if (error instanceof Error && error.name === 'AbortError') return 'The backup was interrupted';
  return 'The archive could not be built';
}
