import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/client.ts';
import type { DomainEvents } from '../../events/domain-events.ts';
import type { archiveFileName, buildArchive } from '../../export/archive-builder.ts';
import type { AppMetrics } from '../../metrics/app-metrics.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { BlobStore } from '../../storage/blob-store.ts';
import type { ActivityService } from '../activity/activity.service.ts';
import type { NotificationService } from '../notifications/notification.service.ts';

/** The archive writer of src/export (API.md §5); loaded lazily, so api processes never load the exporters. */
export interface ArchiveBuilder {
  buildArchive: typeof buildArchive;
  archiveFileName: typeof archiveFileName;
}

/** Settings of the backup feature, fixed when the service is built (tests and benchmarks pass their own). */
export interface BackupOptions {
  /** COMPLETED archives kept per organization (DESIGN.md: three). */
  keepArchives: number;
  /** How long a scheduled backup that finds another running waits before trying again. */
  busyRetrySeconds: number;
  /**
   * Build the archive on the job's thread instead of a worker thread. The thread keeps the API responsive while
   * an archive is formatted; a process that serves no API gains nothing from it and pays a second Node
   * environment: ~55 MB of peak RSS and ~15% more CPU (bench/backup-archive.ts, 200k contacts, with and without
   * --inline: 186 vs 132 MB, 2.5 vs 2.1 CPU-s, the same wall time).
   */
  exportOnJobThread: boolean;
}

export const DEFAULT_BACKUP_OPTIONS: BackupOptions = { keepArchives: 3, busyRetrySeconds: 5, exportOnJobThread: false };

/** The options of a process of `role`: a worker (no API) builds archives on its own thread. */
export function backupOptionsFor(role: 'all' | 'api' | 'worker', overrides: Partial<BackupOptions> = {}): Partial<BackupOptions> {
  return { exportOnJobThread: role === 'worker', ...overrides };
}

/** Everything the backup feature uses, passed in (no globals). */
export interface BackupDeps {
  pool: pg.Pool;
  db: Db;
  boss: PgBoss;
  clock: Clock;
  log: Logger;
  activity: ActivityService;
  notifications: NotificationService;
  /** Email and webhooks hear of finished backups here (in the finishing transaction). */
  domainEvents: DomainEvents;
  blobs: BlobStore;
  /** Where the archive's snapshot read connects: the session-mode URL (DATABASE_DIRECT_URL), not a pooler. */
  snapshotDatabaseUrl: string;
  appSecret: string;
  /** Read on use: the app learns its public URL only once it listens (PORT=0). */
  config(): { publicUrl: string; downloadLinkTtlSeconds: number };
  loadArchiveBuilder(): Promise<ArchiveBuilder>;
  options: BackupOptions;
  /** Recorded where the work happens (not from events, which every process hears): once per finished backup. */
  metrics: Pick<AppMetrics, 'backupFinished'>;
}
