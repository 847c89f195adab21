import 'reflect-metadata';
import { UsageError, parseOptions } from './cli/args.ts';
import { COMMANDS } from './cli/commands.ts';
import { ConfigError, loadConfig, type Config, type Role } from './config.ts';
import { AppError } from './shared/app-error.ts';
import { enableCompileCache } from './shared/compile-cache.ts';
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

/**
 * Only what every command needs is imported up front; each command loads the rest when it runs. Loading the
 * whole service (GraphQL, job queue, every module) cost each CLI call seconds before it did anything.
 */
async function main(argv: string[]): Promise<number> {
  const config = loadConfig();
  // Before the commands load their modules (nearly all of them), so that those are compiled from the cache.
  const compileCacheFailure = enableCompileCache(config.dataDir);
  const log = createLogger(config.logLevel);
  if (compileCacheFailure) log.debug({ reason: compileCacheFailure }, 'compile cache off');
  const [first = '', second = ''] = argv;
  if (first === 'serve') return serve(config, log, argv.slice(1));
  const key = COMMANDS[`${first} ${second}`] ? `${first} ${second}` : first;
  const command = COMMANDS[key];
  if (!command) throw new UsageError(`unknown command "${argv.join(' ')}"`);
  const run = command(argv.slice(key.split(' ').length));
  const { resolveDatabase } = await import('./cli/database.ts');
  const database = await resolveDatabase(config, log);
  try {
    await run({ config, log, databaseUrl: database.url, databaseDirectUrl: database.directUrl });
    return 0;
  } finally {
    await database.stop();
  }
}

async function serve(config: Config, log: Logger, argv: string[]): Promise<number> {
  const opts = parseOptions(argv, { role: { type: 'string' } });
  const role = (opts.role ?? 'all') as Role;
  if (!['all', 'api', 'worker'].includes(role)) throw new UsageError('--role must be all, api or worker');
  await (await import('./cli/serve.ts')).serve(config, log, role);
  return 0;
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
