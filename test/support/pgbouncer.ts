import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/shared/free-port.ts';

/** Debian's package installs it under /usr/sbin, which a non-root PATH often lacks. */
const BINARY_CANDIDATES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'];
/** PgBouncer refuses to run as root; as root we hand it to this user (`-u`). */
const RUN_AS = 'nobody';

export interface PgBouncer {
  /** The same database as `directUrl`, reached through the pooler (transaction pooling). */
  pooledUrl(directUrl: string): string;
  /** Client connections PgBouncer has now, with the application_name each gave (its SHOW CLIENTS). */
  clients(): Promise<{ database: string; applicationName: string }[]>;
  /** What PgBouncer logged, for assertion messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** Server connections per database and user: small, so that clients really share them. */
  poolSize?: number;
}

/**
 * Starts Debian's PgBouncer (1.18 on this machine) in transaction pooling mode in front of the PostgreSQL of
 * `serverUrl`, on a free loopback port, with a config of its own in a temp dir. Every database of that server is
 * reachable through it under its own name (`* =`), logged in as the server URL's user. No
 * `ignore_startup_parameters`: a connection that sends anything PgBouncer does not support is refused, as it
 * would be in production.
 */
export async function startPgBouncer(serverUrl: string, opts: PgBouncerOptions = {}): Promise<PgBouncer> {
  const binary = BINARY_CANDIDATES.find((file) => existsSync(file));
  if (!binary) throw new Error('pgbouncer is not installed (Debian package "pgbouncer"; .ci/run installs it)');
  const server = new URL(serverUrl);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-pgbouncer-'));
  const port = await freePort();
  const ini = path.join(dir, 'pgbouncer.ini');
  await fs.writeFile(ini, iniText(server, port, opts.poolSize ?? 4), { mode: 0o600 });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // The file holds the server's password: readable by the user PgBouncer runs as, and nobody else.
    const { uid, gid } = await userIds(RUN_AS);
    await fs.chown(ini, uid, gid);
  }
  const child = spawn(binary, asRoot ? ['-u', RUN_AS, ini] : [ini], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    await terminate(child);
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  const adminUrl = `postgres://pgbouncer@127.0.0.1:${port}/pgbouncer`;
  return {
    pooledUrl: (directUrl) => {
      const url = new URL(directUrl);
      url.host = `127.0.0.1:${port}`;
      url.password = ''; // PgBouncer logs in to the server itself (auth_type any)
      return url.toString();
    },
    clients: async () => {
      // The admin console speaks the simple query protocol only: a query with no parameters is sent that way.
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ database: string; application_name: string }>('show clients');
        return rows.map((row) => ({ database: row.database, applicationName: row.application_name }));
      } finally {
        await client.end();
      }
    },
    log: () => output,
    stop,
  };
}

function iniText(server: URL, port: number, poolSize: number): string {
  const login = [`user=${decodeURIComponent(server.username || 'postgres')}`];
  if (server.password) login.push(`password=${decodeURIComponent(server.password)}`);
  return [
    '[databases]',
    `* = host=${server.hostname} port=${server.port || 5432} ${login.join(' ')}`,
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    // Clients are not authenticated (loopback, test only); every database logs in as the server URL's user.
    'auth_type = any',
    'admin_users = pgbouncer',
    'pool_mode = transaction',
    `default_pool_size = ${poolSize}`,
    'max_client_conn = 1000',
    '',
  ].join('\n');
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const passwd = await fs.readFile('/etc/passwd', 'utf8');
  const fields = passwd.split('\n').find((line) => line.startsWith(`${name}:`))?.split(':');
  if (!fields) throw new Error(`no user "${name}" to run pgbouncer as`);
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}


async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`pgbouncer exited:\n${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
