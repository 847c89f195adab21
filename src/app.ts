import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { Config, Role } from './config.ts';
import { createDatabase, type Db } from './db/client.ts';
import { migrationsApplied, runMigrations } from './db/migrate.ts';
import { EventBus } from './events/event-bus.ts';
import { createSubscriptionPubSub } from './graphql/subscription-pubsub.ts';
import { startHttpServer, type HttpRoutes, type RunningHttpServer } from './http/app.ts';
import { createBoss } from './jobs/boss.ts';
import { createQueues, startWorkers, type QueueDefinition } from './jobs/registry.ts';
import { ActivityService } from './modules/activity/activity.service.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { BACKUP_QUEUES } from './modules/backup/backup.jobs.ts';
import { backupDownloadRoutes } from './modules/backup/backup.routes.ts';
import type { BackupOptions } from './modules/backup/backup-deps.ts';
import { createBackupService } from './modules/backup/backup.service.ts';
import { CrmService } from './modules/crm/crm.service.ts';
import { NotificationService } from './modules/notifications/notification.service.ts';
import { RETENTION_QUEUES } from './modules/retention/retention.jobs.ts';
import { RetentionService } from './modules/retention/retention.service.ts';
import { keptArchives } from './modules/restore/restore-archives.ts';
import { importQueue, retentionRecomputeAfterImport } from './modules/restore/restore.jobs.ts';
import { importRoutes } from './modules/restore/restore.routes.ts';
import type { BatchWriter } from './modules/restore/import-batch.ts';
import type { ImportOptions } from './modules/restore/import-runner.ts';
import { RestoreService } from './modules/restore/restore.service.ts';
import { systemClock, type Clock } from './shared/clock.ts';
import { createLogger, type Logger } from './shared/logger.ts';
import type { BlobStore } from './storage/blob-store.ts';
import { FsBlobStore } from './storage/fs-blob-store.ts';
import type { Services } from './services.ts';

/** Every job queue of the service (see jobs/registry.ts). */
const QUEUES: QueueDefinition[] = [...RETENTION_QUEUES, ...BACKUP_QUEUES, importQueue as QueueDefinition];

/** HTTP endpoints besides /graphql, /healthz, /readyz. */
const HTTP_ROUTES: HttpRoutes[] = [backupDownloadRoutes, importRoutes];

export interface AppOptions {
  config: Config;
  databaseUrl: string;
  appSecret: string;
  role?: Role;
  log?: Logger;
  clock?: Clock;
  /** Listen address; default: config.host and config.port. Tests pass port 0. */
  listen?: { host: string; port: number };
  /** CLI commands: services only — no HTTP server, no job workers (they may still enqueue jobs). */
  headless?: boolean;
  /** Dependencies and settings other than production's (tests inject slow or failing parts; benchmarks size batches). */
  overrides?: AppOverrides;
}

export interface AppOverrides {
  /** Default: a folder store under config.storageDir. */
  storage?: BlobStore;
  backups?: Partial<BackupOptions>;
  imports?: Partial<ImportOptions>;
  /** Default: import-batch.ts `writeBatch`. */
  importBatchWriter?: BatchWriter;
}

export interface App {
  services: Services;
  /** Set when the role serves HTTP (all, api). */
  http: RunningHttpServer | undefined;
  close(): Promise<void>;
}

/**
 * The composition root: database, migrations, events, jobs, services, then HTTP (api role) and job workers
 * (worker role). `npm start`, the CLI and the tests all build the service through here.
 */
export async function createApp(opts: AppOptions): Promise<App> {
  const role = opts.role ?? 'all';
  const log = opts.log ?? createLogger(opts.config.logLevel, { role });
  const database = createDatabase(opts.databaseUrl, { max: 20, applicationName: `crm-data-admin-${role}` });
  const closers: (() => Promise<unknown>)[] = [() => database.close()];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch((err: Error) => log.error({ err: err.message }, 'error while closing'));
  };
  try {
    await runMigrations(database.pool);
    const events = new EventBus(database.pool, opts.databaseUrl, log);
    await events.ready();
    closers.push(() => events.close());
    const worker = role !== 'api' && !opts.headless;
    const boss = createBoss(opts.databaseUrl, log, { worker });
    await boss.start();
    closers.push(() => boss.stop({ graceful: true, timeout: 20_000 }));
    await createQueues(boss, QUEUES);

    const services = buildServices(opts, log, database.pool, database.db, events, boss);
    if (worker) {
      // Before the first import runs here: what crashed imports left behind (it never fails the start).
      await services.restore.sweepOrphans().catch((err: Error) => log.warn({ err: err.message }, 'import clean-up at start failed'));
      await startWorkers(boss, services, QUEUES);
    }
    let http: RunningHttpServer | undefined;
    if (role !== 'worker' && !opts.headless) {
      http = await startHttpServer(services, HTTP_ROUTES, opts.listen ?? { host: opts.config.host, port: opts.config.port });
      closers.push(() => http!.close());
      if (!opts.config.publicUrlFromEnv) services.config = { ...services.config, publicUrl: http.url };
    }
    return { services, http, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function buildServices(
  opts: AppOptions,
  log: Logger,
  pool: pg.Pool,
  db: Db,
  events: EventBus,
  boss: PgBoss,
): Services {
  const clock = opts.clock ?? systemClock;
  const crm = new CrmService(pool, db);
  const activity = new ActivityService(db);
  const notifications = new NotificationService(db, events);
  const retention = new RetentionService({ pool, clock, appSecret: opts.appSecret, boss, activity, notifications, log });
  crm.addHooks(retention.records.hooks());
  const overrides = opts.overrides ?? {};
  const storage = overrides.storage ?? new FsBlobStore(opts.config.storageDir);
  const backups = createBackupService(
    {
      pool, db, boss, clock, log, activity, notifications, blobs: storage,
      databaseUrl: opts.databaseUrl,
      appSecret: opts.appSecret,
      config: () => services.config,
    },
    overrides.backups,
  );
  const restore = new RestoreService({
    pool, boss, clock, log, activity, events, blobs: storage,
    archives: keptArchives(backups, storage),
    afterImport: retentionRecomputeAfterImport(boss),
    options: { limits: opts.config.importLimits, parserMemoryMb: opts.config.importWorkerMemoryMb, ...overrides.imports },
    writeBatch: overrides.importBatchWriter,
  });
  const services: Services = {
    config: opts.config,
    log,
    clock,
    appSecret: opts.appSecret,
    pool,
    db,
    events,
    pubsub: createSubscriptionPubSub(events),
    boss,
    auth: new AuthService(pool, db),
    crm,
    activity,
    notifications,
    retention,
    storage,
    backups,
    restore,
    afterBulkLoad: (organizationId) => retention.recomputeAll(organizationId),
    readiness: async () => {
      const databaseOk = await pool.query('select 1').then(() => true, () => false);
      const migrations = databaseOk && (await migrationsApplied(pool));
      return { ok: databaseOk && migrations, database: databaseOk, migrations };
    },
  };
  return services;
}
