import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { Config, Role } from './config.ts';
import { createDatabase, type Db } from './db/client.ts';
import { migrationsApplied, runMigrations } from './db/migrate.ts';
import { EventBus } from './events/event-bus.ts';
import { createSubscriptionPubSub } from './graphql/subscription-pubsub.ts';
import type { HttpRoutes, RunningHttpServer } from './http/app.ts';
import { startOpsServer } from './http/ops-server.ts';
import { BOSS_SCHEMA, createBoss } from './jobs/boss.ts';
import { createQueues, startWorkers, type QueueDefinition } from './jobs/registry.ts';
import { ActivityService } from './modules/activity/activity.service.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { AppMetrics } from './metrics/app-metrics.ts';
import { queueDepthReader } from './metrics/queue-depth.ts';
import { BACKUP_QUEUES } from './modules/backup/backup.jobs.ts';
import type { BackupOptions } from './modules/backup/backup-deps.ts';
import { createBackupService } from './modules/backup/backup.service.ts';
import { CrmService } from './modules/crm/crm.service.ts';
import { NotificationService } from './modules/notifications/notification.service.ts';
import { RETENTION_QUEUES } from './modules/retention/retention.jobs.ts';
import { RetentionService } from './modules/retention/retention.service.ts';
import { keptArchives } from './modules/restore/restore-archives.ts';
import { importQueue, retentionRecomputeAfterImport } from './modules/restore/restore.jobs.ts';
import { writeBatch, type BatchWriter } from './modules/restore/import-batch.ts';
import type { ImportOptions } from './modules/restore/import-runner.ts';
import { RestoreService } from './modules/restore/restore.service.ts';
import { systemClock, type Clock } from './shared/clock.ts';
import { createLogger, type Logger } from './shared/logger.ts';
import type { BlobStore } from './storage/blob-store.ts';
import { FsBlobStore } from './storage/fs-blob-store.ts';
import type { Services } from './services.ts';

/** Every job queue of the service (see jobs/registry.ts). */
const QUEUES: QueueDefinition[] = [...RETENTION_QUEUES, ...BACKUP_QUEUES, importQueue as QueueDefinition];

/**
 * The API's HTTP edge and the features' endpoints besides /graphql, /healthz, /readyz, /metrics: loaded only by
 * the roles that serve the API, so a worker never loads Express, Apollo, the GraphQL schema or graphql-ws.
 */
async function loadApiEdge(): Promise<{ startHttpServer: typeof import('./http/app.ts').startHttpServer; routes: HttpRoutes[] }> {
  const [{ startHttpServer }, { backupDownloadRoutes }, { importRoutes }] = await Promise.all([
    import('./http/app.ts'),
    import('./modules/backup/backup.routes.ts'),
    import('./modules/restore/restore.routes.ts'),
  ]);
  return { startHttpServer, routes: [backupDownloadRoutes, importRoutes] };
}

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
  /** Set unless headless: the API (all, api) or, for a worker, `/healthz`, `/readyz` and `/metrics` only. */
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
    if (worker) await startWorkers(boss, services, QUEUES);
    const http = opts.headless ? undefined : await listen(role, services, opts);
    if (http) closers.push(() => http.close());
    return { services, http, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function listen(role: Role, services: Services, opts: AppOptions): Promise<RunningHttpServer> {
  const address = opts.listen ?? { host: opts.config.host, port: opts.config.port };
  if (role === 'worker') return startOpsServer(services, address);
  const edge = await loadApiEdge();
  const http = await edge.startHttpServer(services, edge.routes, address);
  if (!opts.config.publicUrlFromEnv) services.config = { ...services.config, publicUrl: http.url };
  return http;
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
  const metrics = new AppMetrics({
    pool,
    queueDepth: queueDepthReader(pool, BOSS_SCHEMA, QUEUES.map((q) => q.name)),
    log,
  });
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
      metrics,
    },
    overrides.backups,
  );
  const restore = new RestoreService({
    pool, boss, clock, log, activity, events, blobs: storage,
    archives: keptArchives(backups, storage),
    afterImport: retentionRecomputeAfterImport(boss),
    options: overrides.imports,
    writeBatch: countedBatches(overrides.importBatchWriter ?? writeBatch, metrics),
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
    metrics,
    afterBulkLoad: (organizationId) => retention.recomputeAll(organizationId),
    readiness: async () => {
      const databaseOk = await pool.query('select 1').then(() => true, () => false);
      const migrations = databaseOk && (await migrationsApplied(pool));
      return { ok: databaseOk && migrations, database: databaseOk, migrations };
    },
  };
  return services;
}

/** Import rows by outcome, counted as each batch commits (a batch that rolls back counts nothing). */
function countedBatches(write: BatchWriter, metrics: AppMetrics): BatchWriter {
  return async (target, batch, notify) => {
    const progress = await write(target, batch, notify);
    metrics.importBatch(progress);
    return progress;
  };
}
