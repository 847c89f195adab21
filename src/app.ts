import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { Config, Role } from './config.ts';
import { createDatabase, type Db } from './db/client.ts';
import { migrationsApplied, runMigrations } from './db/migrate.ts';
import { createAppPubSub, type AppPubSub } from './graphql/pubsub.ts';
import { startHttpServer, type HttpRoutes, type RunningHttpServer } from './graphql/server.ts';
import { createBoss } from './jobs/boss.ts';
import { createQueues, startWorkers, type QueueDefinition } from './jobs/registry.ts';
import { ActivityService } from './modules/activity/activity.service.ts';
import { AuthService } from './modules/auth/auth.service.ts';
import { CrmService } from './modules/crm/crm.service.ts';
import { NotificationService } from './modules/notifications/notification.service.ts';
import { systemClock, type Clock } from './shared/clock.ts';
import { createLogger, type Logger } from './shared/logger.ts';

/** Everything a resolver, a job handler or an HTTP route may use. Built once per app, passed in (no globals). */
export interface Services {
  config: Config;
  log: Logger;
  clock: Clock;
  appSecret: string;
  pool: pg.Pool;
  db: Db;
  pubsub: AppPubSub;
  boss: PgBoss;
  auth: AuthService;
  crm: CrmService;
  activity: ActivityService;
  notifications: NotificationService;
  readiness(): Promise<{ ok: boolean; database: boolean; migrations: boolean }>;
}

/** Every job queue of the service (see jobs/registry.ts). */
const QUEUES: QueueDefinition[] = [];

/** HTTP endpoints besides /graphql, /healthz, /readyz. */
const HTTP_ROUTES: HttpRoutes[] = [];

export interface AppOptions {
  config: Config;
  databaseUrl: string;
  appSecret: string;
  role?: Role;
  log?: Logger;
  clock?: Clock;
  /** Listen address; default: config.host and config.port. Tests pass port 0. */
  listen?: { host: string; port: number };
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
    const pubsub = createAppPubSub(database.pool, opts.databaseUrl, log);
    await pubsub.ready();
    closers.push(() => pubsub.close());
    const worker = role !== 'api';
    const boss = createBoss(opts.databaseUrl, log, { worker });
    await boss.start();
    closers.push(() => boss.stop({ graceful: true, timeout: 20_000 }));
    await createQueues(boss, QUEUES);

    const services = buildServices(opts, log, database.pool, database.db, pubsub, boss);
    if (worker) await startWorkers(boss, services, QUEUES);
    let http: RunningHttpServer | undefined;
    if (role !== 'worker') {
      http = await startHttpServer(services, HTTP_ROUTES, opts.listen ?? { host: opts.config.host, port: opts.config.port });
      closers.push(() => http!.close());
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
  pubsub: AppPubSub,
  boss: PgBoss,
): Services {
  return {
    config: opts.config,
    log,
    clock: opts.clock ?? systemClock,
    appSecret: opts.appSecret,
    pool,
    db,
    pubsub,
    boss,
    auth: new AuthService(db),
    crm: new CrmService(pool, db),
    activity: new ActivityService(db),
    notifications: new NotificationService(db, pubsub),
    readiness: async () => {
      const databaseOk = await pool.query('select 1').then(() => true, () => false);
      const migrations = databaseOk && (await migrationsApplied(pool));
      return { ok: databaseOk && migrations, database: databaseOk, migrations };
    },
  };
}
