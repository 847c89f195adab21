import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import { DB_POOL_SIZE, type Config, type Role } from './config.ts';
import { createDatabase, type Db } from './db/client.ts';
import { DbGovernor } from './db/db-governor.ts';
import { migrationsApplied, runMigrations } from './db/migrate.ts';
import { EventBus } from './events/event-bus.ts';
import { createSubscriptionPubSub } from './graphql/subscription-pubsub.ts';
import type { HttpRoutes, RunningHttpServer } from './http/app.ts';
import { startOpsServer } from './http/ops-server.ts';
import { BOSS_SCHEMA, createBoss } from './jobs/boss.ts';
import { createQueues, startWorkers, type QueueDefinition } from './jobs/registry.ts';
import { ActivityService } from './modules/activity/activity.service.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { TokenCache, type TokenCacheOptions } from './modules/auth/token-cache.ts';
import { RateLimiter } from './http/rate-limiter.ts';
import { BACKUP_QUEUES } from './modules/backup/backup.jobs.ts';
import { backupOptionsFor, DEFAULT_BACKUP_OPTIONS, type BackupOptions } from './modules/backup/backup-deps.ts';
import { AppMetrics } from './metrics/app-metrics.ts';
import { queueDepthReader } from './metrics/queue-depth.ts';
import { createBackupService } from './modules/backup/backup.service.ts';
import { CrmService } from './modules/crm/crm.service.ts';
import { NotificationService } from './modules/notifications/notification.service.ts';
import { NOTIFICATION_QUEUES } from './modules/notifications/notification.jobs.ts';
import nodemailer from 'nodemailer';
import { EmailService, type EmailDeps } from './modules/notifications/email.service.ts';
import { DomainEvents } from './events/domain-events.ts';
import { createVaultCipher } from './modules/retention/vault-crypto.ts';
import { systemResolver } from './modules/webhooks/webhook-address.ts';
import { WebhookDeliveryService, type WebhookOptions } from './modules/webhooks/webhook-delivery.service.ts';
import { webhookQueue } from './modules/webhooks/webhook.jobs.ts';
import { WebhookService } from './modules/webhooks/webhook.service.ts';
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
import { createBlobStore } from './storage/blob-store-factory.ts';
import { blobSweepQueue } from './storage/storage.jobs.ts';
import type { Services } from './services.ts';

/** Every job queue of the service (see jobs/registry.ts). */
const QUEUES: QueueDefinition[] = [...RETENTION_QUEUES, ...BACKUP_QUEUES, importQueue as QueueDefinition, ...NOTIFICATION_QUEUES, webhookQueue as QueueDefinition, blobSweepQueue];

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
  /** Every short query and transaction; may point at PgBouncer in transaction pooling mode. */
  databaseUrl: string;
  /**
   * Session-mode URL (DATABASE_DIRECT_URL) for what a transaction pooler cannot carry: LISTEN (events and the
   * job workers' wake-ups), the migration's session advisory lock, and the backup's snapshot read. Default:
   * `databaseUrl`.
   */
  databaseDirectUrl?: string;
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
  /** Default: the store config.storage (STORAGE_URL) names. */
  storage?: BlobStore;
  backups?: Partial<BackupOptions>;
  imports?: Partial<ImportOptions>;
  /** Default: import-batch.ts `writeBatch`. */
  importBatchWriter?: BatchWriter;
  /** Default: the system's DNS resolver and a 10 s backoff base. */
  webhooks?: Partial<WebhookOptions>;
  /** Size and safety-net lifetime of the token cache (tests shorten the TTL to prove it). */
  tokenCache?: TokenCacheOptions;
  /** The rate limiter's monotonic time source in ms (tests move it instead of sleeping). */
  rateLimitNow?: () => number;
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
  const directUrl = opts.databaseDirectUrl ?? opts.databaseUrl;
  const database = createDatabase(opts.databaseUrl, { max: DB_POOL_SIZE, applicationName: `crm-data-admin-${role}` });
  // GraphQL requests' database work gets a statement timeout and a per-organization cap (db-governor.ts).
  const dbGovernor = new DbGovernor({
    statementTimeoutMs: opts.config.graphqlStatementTimeoutMs,
    concurrencyPerOrganization: opts.config.graphqlDbConcurrencyPerOrg,
  });
  dbGovernor.govern(database.pool);
  // The API's modules (Express, Apollo, graphql-ws, the schema's resolvers: a few hundred ms to load) load while
  // the database work below waits on PostgreSQL; listen() awaits them, and reports their failure.
  const apiEdge = role !== 'worker' && !opts.headless ? loadApiEdge() : undefined;
  apiEdge?.catch(() => undefined);
  const closers: (() => Promise<unknown>)[] = [() => database.close()];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch((err: Error) => log.error({ err: err.message }, 'error while closing'));
  };
  try {
    await runMigrations(database.pool, directUrl);
    // Closed after the job workers stop (closers run in reverse), so no running backup loses its store.
    const storage = await blobStore(opts, log, closers);
    const events = new EventBus(database.pool, directUrl, log);
    await events.ready();
    closers.push(() => events.close());
    const worker = role !== 'api' && !opts.headless;
    const boss = createBoss({ url: opts.databaseUrl, listenUrl: directUrl }, log, { worker });
    await boss.start();
    closers.push(() => boss.stop({ graceful: true, timeout: 20_000 }));
    await createQueues(boss, QUEUES);

    const services = buildServices(opts, log, database.pool, database.db, events, boss, storage, dbGovernor);
    if (worker) {
      // Before the first import runs here: what crashed imports left behind (it never fails the start).
      await services.restore.sweepOrphans().catch((err: Error) => log.warn({ err: err.message }, 'import clean-up at start failed'));
      await startWorkers(boss, services, QUEUES);
    }
    const http = opts.headless ? undefined : await listen(role, services, opts, apiEdge);
    if (http) closers.push(() => http.close());
    return { services, http, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function blobStore(opts: AppOptions, log: Logger, closers: (() => Promise<unknown>)[]): Promise<BlobStore> {
  if (opts.overrides?.storage) return opts.overrides.storage;
  const handle = await createBlobStore(opts.config.storage, log);
  closers.push(() => handle.close());
  return handle.store;
}

async function listen(
  role: Role,
  services: Services,
  opts: AppOptions,
  apiEdge: ReturnType<typeof loadApiEdge> | undefined,
): Promise<RunningHttpServer> {
  const address = opts.listen ?? { host: opts.config.host, port: opts.config.port };
  if (role === 'worker' || !apiEdge) return startOpsServer(services, address);
  const edge = await apiEdge;
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
  storage: BlobStore,
  dbGovernor: DbGovernor,
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
  const domainEvents = new DomainEvents();
  const retention = new RetentionService({ pool, clock, appSecret: opts.appSecret, boss, activity, notifications, log, domainEvents });
  crm.addHooks(retention.records.hooks());
  const overrides = opts.overrides ?? {};
  const backups = createBackupService(
    {
      pool, db, boss, clock, log, activity, notifications, domainEvents, blobs: storage,
      // One REPEATABLE READ transaction for the whole archive: minutes on a large organization, too long to pin
      // one of a transaction pooler's server connections (and past the timeouts such poolers are given).
      snapshotDatabaseUrl: opts.databaseDirectUrl ?? opts.databaseUrl,
      appSecret: opts.appSecret,
      config: () => services.config,
      metrics,
    },
    backupOptionsFor(opts.role ?? 'all', overrides.backups),
  );
  const restore = new RestoreService({
    pool, boss, clock, log, activity, events, blobs: storage,
    archives: keptArchives(backups, storage),
    afterImport: retentionRecomputeAfterImport(retention.recomputes),
    domainEvents,
    options: { limits: opts.config.importLimits, parserMemoryMb: opts.config.importWorkerMemoryMb, ...overrides.imports },
    writeBatch: countedBatches(overrides.importBatchWriter ?? writeBatch, metrics),
  });
  const email = createEmailService(opts.config, { pool, db, boss, log, backups }, overrides.backups?.keepArchives);
  if (email) domainEvents.subscribe(email.consumer);
  const webhookDeps = {
    pool, boss, clock, log,
    cipher: createVaultCipher(opts.appSecret),
    allowPrivate: opts.config.webhookAllowPrivate,
    options: { retryBaseSeconds: 10, resolver: systemResolver, ...overrides.webhooks },
  };
  const webhookDelivery = new WebhookDeliveryService(webhookDeps);
  domainEvents.subscribe(webhookDelivery.consumer);
  const services: Services = {
    config: opts.config,
    log,
    clock,
    appSecret: opts.appSecret,
    pool,
    db,
    dbGovernor,
    events,
    pubsub: createSubscriptionPubSub(events),
    boss,
    auth: new AuthService(pool, db, tokenCache(events, overrides.tokenCache)),
    rateLimiter: new RateLimiter({ perMinute: opts.config.rateLimitPerMinute, now: overrides.rateLimitNow }),
    crm,
    activity,
    notifications,
    domainEvents,
    email,
    webhooks: new WebhookService({ ...webhookDeps, activity }, webhookDelivery),
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

/** Email only when SMTP_URL is set: otherwise nothing is enqueued, so nothing is sent and nothing fails. */
function createEmailService(
  config: Config,
  deps: Pick<EmailDeps, 'pool' | 'db' | 'boss' | 'log' | 'backups'>,
  keptArchives = DEFAULT_BACKUP_OPTIONS.keepArchives,
): EmailService | undefined {
  if (!config.smtpUrl) return undefined;
  return new EmailService({
    ...deps,
    transport: nodemailer.createTransport(config.smtpUrl),
    mailFrom: config.mailFrom,
    linkTtlSeconds: config.emailLinkTtlSeconds,
    keptArchives,
  });
}

/**
 * The token cache, kept true by the event bus: a revocation in any process (or the CLI) reaches this one
 * through NOTIFY, and a lost LISTEN connection (notifications missed) empties it.
 */
function tokenCache(events: EventBus, options: TokenCacheOptions | undefined): TokenCache {
  const cache = new TokenCache(options);
  events.on('tokenRevoked', (tokenId) => cache.forgetToken(tokenId));
  events.onReconnect(() => cache.clear());
  return cache;
}

/** Import rows by outcome, counted as each batch commits (a batch that rolls back counts nothing). */
function countedBatches(write: BatchWriter, metrics: AppMetrics): BatchWriter {
  return async (target, batch, notify) => {
    const progress = await write(target, batch, notify);
    metrics.importBatch(progress);
    return progress;
  };
}
