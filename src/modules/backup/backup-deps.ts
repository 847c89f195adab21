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
}

export const DEFAULT_BACKUP_OPTIONS: BackupOptions = { keepArchives: 3, busyRetrySeconds: 5 };

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
