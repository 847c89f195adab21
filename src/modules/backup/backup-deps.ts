import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/client.ts';
import type { archiveFileName, buildArchive } from '../../export/archive-builder.ts';
import type { EventBus } from '../../events/event-bus.ts';
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

/** Knobs for tests and benchmarks; production uses the defaults. */
export interface BackupTuning {
  /** COMPLETED archives kept per organization (DESIGN.md: three). */
  keepArchives: number;
  /** How long a scheduled backup that finds another running waits before trying again. */
  busyRetrySeconds: number;
  /** Test only: a pause per chunk written to the archive, to make a backup last long enough to kill it. */
  chunkDelayMs: number;
}

export const DEFAULT_TUNING: BackupTuning = { keepArchives: 3, busyRetrySeconds: 5, chunkDelayMs: 0 };

/** Everything the backup feature uses, passed in (no globals). */
export interface BackupDeps {
  pool: pg.Pool;
  db: Db;
  boss: PgBoss;
  clock: Clock;
  log: Logger;
  activity: ActivityService;
  notifications: NotificationService;
  events: EventBus;
  blobs: BlobStore;
  databaseUrl: string;
  appSecret: string;
  /** Read on use: the app learns its public URL only once it listens (PORT=0). */
  config(): { publicUrl: string; downloadLinkTtlSeconds: number };
  loadArchiveBuilder(): Promise<ArchiveBuilder>;
  tuning: BackupTuning;
}
