import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { withTransaction } from '../../db/transaction.ts';
import { decodeCursor, pageSize, toConnection, type ConnectionShape } from '../../graphql/connection.ts';
import { badInput, notFound } from '../../shared/app-error.ts';
import { isUuid } from '../../shared/validation.ts';
import type { BlobInfo, ByteRange } from '../../storage/blob-store.ts';
import type { Viewer } from '../auth/auth.types.ts';
import { watchdogPass } from '../../jobs/job-watchdog.ts';
import { backupNotDownloadable } from './backup.errors.ts';
import * as repo from './backup.repository.ts';
import { claimDownloadLink } from './backup-download.repository.ts';
import type { BackupScheduleInput } from './backup-schedule.ts';
import { DEFAULT_BACKUP_OPTIONS, type BackupDeps, type BackupOptions } from './backup-deps.ts';
import { signDownloadLink, verifyDownloadLink } from './backup-download.ts';
import { BackupRunner } from './backup-runner.ts';
import { BackupSettingsService } from './backup-settings.service.ts';
import { BACKUP_QUEUE, BackupStateMachine } from './backup-state-machine.ts';
import { BackupStatus, type BackupRow, type BackupSettingsView, type BackupStatusName } from './backup.types.ts';

/** A kept archive, ready to stream to someone holding a valid link. */
export interface DownloadableArchive {
  backup: BackupRow;
  blob: BlobInfo;
  open(range?: ByteRange): Promise<Readable>;
}

/** How long a PENDING backup may be overdue before the watchdog checks that its job still exists. */
const OVERDUE_GRACE_MS = 2 * 60_000;

/** Backups (DESIGN.md "Backups"): requests, cancellation, history, settings, download links, the job runner. */
export class BackupService {
  readonly settings: BackupSettingsService;
  readonly runner: BackupRunner;
  private readonly machine: BackupStateMachine;

  constructor(private readonly deps: BackupDeps) {
    this.machine = new BackupStateMachine(deps);
    this.settings = new BackupSettingsService(deps, this.machine);
    this.runner = new BackupRunner(deps, this.machine);
  }

  async get(organizationId: string, id: string): Promise<BackupRow | undefined> {
    return isUuid(id) ? repo.findBackup(this.deps.pool, organizationId, id) : undefined;
  }

  async list(
    organizationId: string,
    args: { first?: number | null; after?: string | null; status?: string[] | null },
  ): Promise<ConnectionShape<BackupRow>> {
    const limit = pageSize(args.first);
    const cursor = decodeCursor(args.after, 2);
    const [createdAt, id] = cursor ?? [];
    if (cursor && (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)) || typeof id !== 'string' || !isUuid(id))) {
      throw badInput('after', 'is not a cursor returned by this list');
    }
    const statuses = args.status?.length ? (args.status as BackupStatusName[]) : undefined;
    if (statuses?.some((s) => !(s in BackupStatus))) throw badInput('status', 'must be BackupStatus values');
    const before = cursor ? { createdAt: createdAt as string, id: id as string } : undefined;
    const rows = await repo.listBackups(this.deps.pool, organizationId, { limit, before, statuses });
    return toConnection(
      rows,
      limit,
      (r) => r,
      (r) => [r.createdAt.toISOString(), r.id],
      () => repo.countBackups(this.deps.pool, organizationId, statuses),
    );
  }

  /** BACKUP_IN_PROGRESS while one runs or a manual one waits; a waiting scheduled one does not block. */
  startManual(viewer: Viewer): Promise<BackupRow> {
    return this.machine.requestManual(viewer);
  }

  /** PENDING → CANCELLED; a cancelled scheduled occurrence makes room for the next one. */
  async cancel(viewer: Viewer, id: string): Promise<BackupRow> {
    if (!isUuid(id)) throw notFound('backup');
    return this.machine.cancel(viewer, id);
  }

  getSettings(organizationId: string): Promise<BackupSettingsView> {
    return this.settings.get(organizationId);
  }

  enableAutoBackup(viewer: Viewer, input: BackupScheduleInput): Promise<BackupSettingsView> {
    return this.settings.enable(viewer, input);
  }

  disableAutoBackup(viewer: Viewer): Promise<BackupSettingsView> {
    return this.settings.disable(viewer);
  }

  /**
   * A signed link to a kept archive, or undefined when it is no longer downloadable. Not recorded: it is what
   * a notification or an email shows each time it is read (the download itself is recorded).
   */
  signedLink(row: BackupRow, ttlSeconds?: number): { url: string; expiresAt: Date } | undefined {
    if (row.status !== 'COMPLETED' || !row.storageKey) return undefined;
    const { publicUrl, downloadLinkTtlSeconds } = this.deps.config();
    const expiresAt = new Date(this.deps.clock.now().getTime() + (ttlSeconds ?? downloadLinkTtlSeconds) * 1000);
    return signDownloadLink(publicUrl, this.deps.appSecret, row.id, expiresAt);
  }

  /** A signed link to a kept archive; the request is recorded (it is who a later download belongs to). */
  async createDownloadLink(viewer: Viewer, id: string): Promise<{ url: string; expiresAt: Date }> {
    const { deps } = this;
    const row = await this.get(viewer.organizationId, id);
    if (!row) throw notFound('backup');
    if (row.status !== 'COMPLETED' || !row.storageKey) throw backupNotDownloadable(row.status);
    const { publicUrl, downloadLinkTtlSeconds } = deps.config();
    const expiresAt = new Date(deps.clock.now().getTime() + downloadLinkTtlSeconds * 1000);
    const link = signDownloadLink(publicUrl, deps.appSecret, row.id, expiresAt);
    await deps.activity.record({
      organizationId: row.organizationId,
      kind: 'backup.download_link_created',
      actorId: viewer.userId,
      summary: `Download link created, valid until ${link.expiresAt.toISOString()}`,
      subjectType: 'BACKUP',
      subjectId: row.id,
      data: { expiresAt: link.expiresAt.toISOString() },
    });
    return link;
  }

  /**
   * The archive behind a signed link: 'forbidden' for a bad or expired link, 'not-found' for an unknown backup
   * or an archive that is no longer kept. Nothing else is revealed.
   */
  async resolveDownload(id: string, expires: unknown, signature: unknown): Promise<DownloadableArchive | 'forbidden' | 'not-found'> {
    const { deps } = this;
    if (verifyDownloadLink(deps.appSecret, id, expires, signature, deps.clock.now()) !== 'valid') return 'forbidden';
    const row = isUuid(id) ? await repo.findBackupById(deps.pool, id) : undefined;
    if (!row || row.status !== 'COMPLETED' || !row.storageKey) return 'not-found';
    const key = row.storageKey;
    const blob = await deps.blobs.stat(key);
    if (!blob) return 'not-found';
    return { backup: row, blob, open: (range) => deps.blobs.openRead(key, range) };
  }

  /**
   * Records the download behind a link (its parameters already verified), once per link: fetching it again,
   * or in several ranges, adds nothing. The claim and the activity row commit together.
   */
  async recordDownload(row: BackupRow, range: ByteRange | undefined, link: { expires: string; signature: string }): Promise<void> {
    const { deps } = this;
    await withTransaction(deps.pool, async ({ q, db }) => {
      const claim = {
        signatureHash: createHash('sha256').update(link.signature).digest('hex'),
        organizationId: row.organizationId,
        backupId: row.id,
        expiresAt: new Date(Number(link.expires) * 1000),
      };
      if (!(await claimDownloadLink(q, claim, deps.clock.now()))) return;
      await deps.activity.record(
        {
          organizationId: row.organizationId,
          kind: 'backup.downloaded',
          summary: range ? `Backup archive downloaded (bytes ${range.start}-${range.end})` : 'Backup archive downloaded',
          subjectType: 'BACKUP',
          subjectId: row.id,
          data: { sizeBytes: row.sizeBytes, range: range ?? null },
        },
        db,
      );
    });
  }

  /**
   * Nothing stays RUNNING forever: a RUNNING backup whose job is over (failed for good, gone) is FAILED. A PENDING
   * backup whose job was lost is given a new one. Runs on a cron in the workers.
   */
  async watchdog(): Promise<{ failed: number; requeued: number }> {
    const { deps } = this;
    const overdue = new Date(deps.clock.now().getTime() - OVERDUE_GRACE_MS);
    return watchdogPass(deps.boss, {
      queue: BACKUP_QUEUE,
      running: await repo.listRunning(deps.pool),
      overdue: await repo.listOverduePending(deps.pool, overdue),
      fail: (row) => this.machine.fail(row.id, row.attempts, 'The backup worker stopped before the archive was complete'),
      resend: (row) => this.machine.resend({ backupId: row.id, organizationId: row.organizationId }, 0, row.jobId),
    });
  }
}

/** The service with production defaults: the archive writer loads on first use, options per DESIGN.md. */
export function createBackupService(deps: Omit<BackupDeps, 'loadArchiveBuilder' | 'options'>, options: Partial<BackupOptions> = {}): BackupService {
  return new BackupService({
    ...deps,
    loadArchiveBuilder: () => import('../../export/archive-builder.ts'),
    options: { ...DEFAULT_BACKUP_OPTIONS, ...options },
  });
}
