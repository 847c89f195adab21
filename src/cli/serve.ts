import type { App } from '../app.ts';
import type { Config, Role } from '../config.ts';
import { seedOrganization } from '../modules/crm/crm.seed.ts';
import { resolveAppSecret } from '../shared/app-secret.ts';
import type { Logger } from '../shared/logger.ts';
import { resolveDatabase, type ResolvedDatabase } from './database.ts';

export const DEMO_COUNTS = { accounts: 50, contacts: 200, leads: 150, deals: 80 };

/** `serve [--role all|api|worker]`: runs until SIGINT/SIGTERM, then drains and stops. */
export async function serve(config: Config, log: Logger, role: Role): Promise<void> {
  const started = Date.now();
  const { app, database } = await startApp(config, log, role);
  // A worker serves no GraphQL: the demo data and the GraphiQL line are the api's to print.
  if (app.http && role !== 'worker') await firstRunDemo(app, `${app.services.config.publicUrl}/graphql`);
  log.info({ role, url: app.http?.url, embedded: database.embedded, startupMs: Date.now() - started }, 'crm-data-admin started');
  await waitForShutdownSignal(log);
  await shutdown(app, database, log);
}

/**
 * An embedded PostgreSQL boots in a process of its own (a few hundred ms; initdb first on a first run) while this
 * one loads the service's modules (about as long): side by side, not one after the other (bench/startup.ts).
 * The modules start loading once PostgreSQL runs: begun together, the loading (hundreds of file reads, then a
 * long synchronous evaluation) held back the few steps that launch PostgreSQL by most of its own duration.
 */
async function startApp(config: Config, log: Logger, role: Role): Promise<{ app: App; database: ResolvedDatabase }> {
  let launched!: () => void;
  const launch = new Promise<void>((resolve) => (launched = resolve));
  const resolving = resolveDatabase(config, log, launched);
  // No launch to wait for when DATABASE_URL is set, the server is joined, or starting it failed.
  await Promise.race([launch, resolving.then(() => undefined, () => undefined)]);
  const [database, loaded, appSecret] = await Promise.allSettled([resolving, import('../app.ts'), resolveAppSecret(config)]);
  if (database.status === 'rejected') throw database.reason;
  try {
    if (loaded.status === 'rejected') throw loaded.reason;
    if (appSecret.status === 'rejected') throw appSecret.reason;
    const databaseUrls = { databaseUrl: database.value.url, databaseDirectUrl: database.value.directUrl };
    const app = await loaded.value.createApp({ config, ...databaseUrls, appSecret: appSecret.value, log, role });
    return { app, database: database.value };
  } catch (error) {
    await database.value.stop();
    throw error;
  }
}

/**
 * The very first start on an empty database creates a demo organization with sample records and prints the
 * tokens to try it with (API.md §1: exactly these lines). Later starts print the URL only.
 */
export async function firstRunDemo(app: App, graphiqlUrl: string): Promise<void> {
  const lines = [`GraphiQL: ${graphiqlUrl}`];
  const { rows } = await app.services.pool.query<{ n: number }>('select count(*)::int as n from organizations');
  if (rows[0]?.n === 0) {
    const { organization, admin } = await app.services.auth.createOrganization({ name: 'Demo Company', timezone: 'Asia/Singapore' });
    const standard = await app.services.auth.createUser({
      organizationId: organization.id,
      email: 'standard@demo-company.example.com',
      role: 'STANDARD',
      name: 'Sam Standard',
    });
    await seedOrganization(app.services.pool, organization.id, DEMO_COUNTS);
    await app.services.afterBulkLoad?.(organization.id);
    lines.push(`ADMIN token: ${admin.token}`, `STANDARD token: ${standard.token}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function waitForShutdownSignal(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'shutting down: draining HTTP and WebSocket, stopping jobs');
      // A second signal while draining means "now".
      process.once(signal, () => process.exit(130));
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

async function shutdown(app: App, database: ResolvedDatabase, log: Logger): Promise<void> {
  await app.close();
  await database.stop();
  log.info('stopped');
}
