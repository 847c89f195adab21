import 'reflect-metadata';
import { createApp, type App } from './app.ts';
import { migrate, orgCreate, retentionSweep, seed, tokenCreate, tokenRevoke, userCreate } from './cli/commands.ts';
import { UsageError, parseOptions } from './cli/args.ts';
import { resolveDatabase, type ResolvedDatabase } from './cli/database.ts';
import { firstRunDemo } from './cli/serve.ts';
import { ConfigError, loadConfig, type Config, type Role } from './config.ts';
import { AppError } from './shared/app-error.ts';
import { resolveAppSecret } from './shared/app-secret.ts';
import { createLogger, type Logger } from './shared/logger.ts';

const USAGE = `usage: crm-data-admin <command>
  serve [--role all|api|worker]
  migrate
  org create --name NAME [--timezone IANA]
  user create --org ORG_ID --email EMAIL --role ADMIN|STANDARD [--name NAME]
  token create --user USER_ID [--name LABEL]
  token revoke --token TOKEN
  seed --org ORG_ID [--leads N] [--contacts N] [--accounts N] [--deals N]
  retention sweep [--org ORG_ID]`;

type Command = (app: App, argv: string[]) => Promise<void>;

/** Commands that need the services (but no HTTP server and no job workers). */
const APP_COMMANDS: Record<string, Command> = {
  'org create': orgCreate,
  'user create': userCreate,
  'token create': tokenCreate,
  'token revoke': tokenRevoke,
  seed,
  'retention sweep': retentionSweep,
};

async function main(argv: string[]): Promise<number> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const [first = '', second = ''] = argv;
  if (first === 'serve') return serve(config, log, argv.slice(1));
  const database = await resolveDatabase(config, log);
  try {
    if (first === 'migrate') {
      await migrate(database.url);
      return 0;
    }
    const key = APP_COMMANDS[`${first} ${second}`] ? `${first} ${second}` : first;
    const command = APP_COMMANDS[key];
    if (!command) throw new UsageError(`unknown command "${argv.join(' ')}"`);
    const app = await createApp({ config, databaseUrl: database.url, appSecret: await resolveAppSecret(config), log, headless: true });
    try {
      await command(app, argv.slice(key.split(' ').length));
    } finally {
      await app.close();
    }
    return 0;
  } finally {
    await database.stop();
  }
}

async function serve(config: Config, log: Logger, argv: string[]): Promise<number> {
  const opts = parseOptions(argv, { role: { type: 'string' } });
  const role = (opts.role ?? 'all') as Role;
  if (!['all', 'api', 'worker'].includes(role)) throw new UsageError('--role must be all, api or worker');
  const started = Date.now();
  const database = await resolveDatabase(config, log);
  let app: App;
  try {
    app = await createApp({ config, databaseUrl: database.url, appSecret: await resolveAppSecret(config), log, role });
  } catch (error) {
    await database.stop();
    throw error;
  }
  if (app.http) await firstRunDemo(app, `${app.services.config.publicUrl}/graphql`);
  log.info({ role, url: app.http?.url, embedded: database.embedded, startupMs: Date.now() - started }, 'crm-data-admin started');
  await waitForShutdownSignal(log);
  await shutdown(app, database, log);
  return 0;
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n${USAGE}\n`);
    else if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else if (error instanceof AppError) process.stderr.write(`${error.code}: ${error.message}\n`);
    else process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(error instanceof UsageError ? 64 : 1);
  },
);
