/**
 * Backup benchmark (issue 12, target 1): N contacts in a fresh database; measures, each in a process of its own
 * (so peak RSS is the phase's alone):
 *   (a) baseline: `COPY (SELECT … the archive's contact columns …) TO STDOUT` through zlib (gzip level 1) to a file;
 *   (b) a full backup through the backup service: startManual → pg-boss → worker → archive (CSV + XLSX + ZIP,
 *       temporary file, rename) → COMPLETED. The worker is a process of its own run as production runs it: the
 *       compiled build, `node <worker flags of bin/crm-data-admin> dist/main.js serve --role worker`, with
 *       RATE_LIMIT_PER_MINUTE=0; its peak RSS is the kernel's VmHWM of that process (all its threads). The backup
 *       is requested by a headless api in this process. Run `npm run build` first: it measures dist/.
 * Prints wall time, records/s, peak RSS and process CPU of each (the worker's also by thread: main, export worker,
 * libuv's pool where zlib deflates, V8's GC helpers; PostgreSQL's CPU is not counted), the ratio b/a, and the peak
 * RSS of the backup at a smaller size (default 100,000) next to N; the last lines are the targets: figure, baseline, ratio, met/MISSED for
 * "backup ≤ 2.0× COPY → gzip -1", "peak RSS ≤ 200 MB" and "RSS 1M/100k ≤ 1.15×".
 *
 *   node --import tsx bench/backup.ts [--rows 1000000] [--compare 100000] [--profile DIR] [--worker-flags=--trace-gc]
 *
 * --profile DIR: the worker process runs with --cpu-prof (a .cpuprofile per thread in DIR).
 * --worker-flags=…: more Node flags for the worker process, space-separated; the `=` is needed for a value that
 * starts with a dash. Node refuses some (e.g. --trace-gc) in NODE_OPTIONS. The worker's stdout is passed through.
 * Uses BENCH_DATABASE_URL (default the local PostgreSQL) and a database of its own, created and dropped.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { moduleSelectSql } from '../src/export/module-columns.ts';
import { createBenchDatabase } from './bench-database.ts';
import { createOrg, seedContacts, type SeededOrg, startHeadlessApi, timeBackup, WorkerProcess } from './backup-service.ts';
import { workerNodeFlags } from './worker-flags.ts';

type Api = Awaited<ReturnType<typeof startHeadlessApi>>;

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    compare: { type: 'string', default: '100000' },
    // Internal: one measured phase, run in a child process.
    phase: { type: 'string' },
    db: { type: 'string' },
    org: { type: 'string' },
    profile: { type: 'string' },
    'worker-flags': { type: 'string' },
  },
});
const SELF = fileURLToPath(import.meta.url);

interface PhaseResult {
  phase: 'copy' | 'backup';
  records: number;
  wallMs: number;
  bytes: number;
  peakRssMb: number;
  /** Backup only: started_at → finished_at on the row (without the wait for a worker to take the job). */
  runnerMs?: number;
  /** CPU seconds of the measuring process (all threads; the backup: the worker process's) during the phase: steadier than wall time on a loaded machine. */
  cpuS?: number;
  /** Backup only: the worker process's CPU during the backup by thread kind. */
  threads?: string;
  /** Backup only: RSS of the idle worker process before the backup starts. */
  idleRssMb?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Phases (child processes)

async function copyPhase(dbUrl: string, organizationId: string): Promise<PhaseResult> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'bench-copy-')), 'contacts.csv.gz');
  try {
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const sql = `COPY (${moduleSelectSql('CONTACTS', `'${organizationId}'::uuid`)}) TO STDOUT WITH (FORMAT csv, HEADER true)`;
    const out = createWriteStream(file);
    await pipeline(client.query(copyTo(sql)), createGzip({ level: 1 }), out);
    const wallMs = performance.now() - started;
    const { rows } = await client.query<{ n: string }>('select count(*) as n from contacts where organization_id = $1', [organizationId]);
    const cpu = process.cpuUsage(cpuBefore);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    return { phase: 'copy', records: Number(rows[0]!.n), wallMs, bytes: out.bytesWritten, peakRssMb: peakRssMb(), cpuS };
  } finally {
    await client.end();
    await fs.rm(path.dirname(file), { recursive: true, force: true });
  }
}

/** The process's peak resident set (this process and its worker threads), in MB. */
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

// ---------------------------------------------------------------------------------------------------------------
// Orchestration

function runCopyPhase(dbUrl: string, org: SeededOrg): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', SELF, '--phase', 'copy', '--db', dbUrl, '--org', org.id],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`phase copy exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as PhaseResult);
    });
  });
}

/** A fresh worker process per size, so that its peak RSS is this backup's alone. */
async function backupPhase(api: Api, dbUrl: string, storageDir: string, org: SeededOrg): Promise<PhaseResult> {
  const profileDir = args.profile ? path.resolve(args.profile) : undefined;
  const extraFlags = args['worker-flags']?.split(' ').filter(Boolean);
  const worker = await WorkerProcess.start({ databaseUrl: dbUrl, storageDir, profileDir, extraFlags });
  try {
    const cpuBefore = worker.cpuSeconds();
    const threadsBefore = worker.cpuByThread();
    const timing = await timeBackup(api, org);
    const cpuS = worker.cpuSeconds() - cpuBefore;
    const perThread = [...worker.cpuByThread()].map(([name, s]) => [name, s - (threadsBefore.get(name) ?? 0)] as const);
    // The export's worker thread has ended by now: its CPU is what the live threads do not account for.
    const ended = cpuS - perThread.reduce((sum, [, s]) => sum + s, 0);
    const threads = [...perThread.filter(([, s]) => s > 0), ['ended threads (the export worker)', ended] as const]
      .map(([name, s]) => `${name} ${fmt(s, 2)} s`)
      .join(', ');
    return { phase: 'backup', ...timing, peakRssMb: worker.peakRssMb(), idleRssMb: worker.idleRssMb, cpuS, threads };
  } finally {
    await worker.stop();
  }
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const rows = Number(args.rows);
  const compare = Number(args.compare);
  if (!Number.isInteger(rows) || rows < 1) throw new Error('--rows must be a positive integer');
  if (!Number.isInteger(compare) || compare < 0) throw new Error('--compare must be a non-negative integer');
  const sizes = compare > 0 && compare < rows ? [compare, rows] : [rows];

  const database = await createBenchDatabase('crm_bench_backup');
  const dbUrl = database.url;
  const pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
  const storage = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-backup-'));
  let api: Api | undefined;
  try {
    const { runMigrations } = await import('../src/db/migrate.ts');
    await runMigrations(pool);
    api = await startHeadlessApi(dbUrl, storage);
    const results: Result[] = [];
    for (const size of sizes) {
      const org = await createOrg(pool, String(size));
      const seedStart = performance.now();
      await seedContacts(pool, org.id, size);
      console.error(`seeded ${fmt(size)} contacts in ${fmt((performance.now() - seedStart) / 1000, 1)} s; measuring…`);
      const copy = await runCopyPhase(dbUrl, org);
      const backup = await backupPhase(api, dbUrl, storage, org);
      results.push({ rows: size, copy, backup });
    }
    report(results);
  } finally {
    await api?.close();
    await pool.end();
    await database.drop();
    await fs.rm(storage, { recursive: true, force: true });
  }
}

interface Result {
  rows: number;
  copy: PhaseResult;
  backup: PhaseResult;
}

function report(results: Result[]): void {
  console.log(`\nbackup benchmark (${os.cpus().length} cores, Node ${process.version}, worker: compiled dist/, ${workerNodeFlags().join(' ')})`);
  console.log('rows       phase                          wall s   records/s   output MB   peak RSS MB');
  for (const r of results) {
    for (const [label, p] of [['(a) COPY → gzip -1', r.copy], ['(b) backup service', r.backup]] as const) {
      console.log(
        `${fmt(r.rows).padEnd(10)} ${label.padEnd(30)} ${fmt(p.wallMs / 1000, 2).padStart(6)}   ${fmt(p.records / (p.wallMs / 1000)).padStart(9)}   ${fmt(p.bytes / 1e6, 1).padStart(9)}   ${fmt(p.peakRssMb).padStart(11)}`,
      );
    }
    console.log(`${''.padEnd(10)} process CPU: (a) ${fmt(r.copy.cpuS ?? 0, 2)} s, (b) ${fmt(r.backup.cpuS ?? 0, 2)} s (PostgreSQL's own CPU not included)`);
    if (r.backup.threads) console.log(`${''.padEnd(10)} worker CPU by thread: ${r.backup.threads}`);
    const runner = r.backup.runnerMs === undefined ? '' : ` (runner alone ${fmt(r.backup.runnerMs / 1000, 2)} s, ratio ${fmt(r.backup.runnerMs / r.copy.wallMs, 1)}×)`;
    console.log(`${''.padEnd(10)} ratio b/a: ${fmt(r.backup.wallMs / r.copy.wallMs, 1)}×${runner}; worker process idle RSS ${fmt(r.backup.idleRssMb ?? 0)} MB`);
  }
  const large = results.at(-1)!;
  const small = results.length > 1 ? results[0]! : undefined;
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const ratio = large.backup.wallMs / large.copy.wallMs;
  console.log('\ntargets (issue 12 #1)');
  console.log(
    `backup at ${fmt(large.rows)}: ${fmt(large.backup.wallMs / 1000, 2)} s; baseline COPY → gzip -1 ${fmt(large.copy.wallMs / 1000, 2)} s; ratio ${fmt(ratio, 2)}×; ≤ 2.0×: ${verdict(ratio <= 2.0)}`,
  );
  console.log(
    `peak RSS of the worker process at ${fmt(large.rows)}: ${fmt(large.backup.peakRssMb)} MB; baseline (idle worker) ${fmt(large.backup.idleRssMb ?? 0)} MB; ratio ${fmt(large.backup.peakRssMb / (large.backup.idleRssMb ?? 1), 2)}×; peak RSS ≤ 200 MB: ${verdict(large.backup.peakRssMb <= 200)}`,
  );
  if (small) {
    const growth = large.backup.peakRssMb / small.backup.peakRssMb;
    console.log(
      `peak RSS ${fmt(large.rows)}/${fmt(small.rows)}: ${fmt(large.backup.peakRssMb)} MB; baseline ${fmt(small.backup.peakRssMb)} MB; ratio ${fmt(growth, 2)}×; RSS 1M/100k ≤ 1.15×: ${verdict(growth <= 1.15)}`,
    );
  } else {
    console.log('RSS 1M/100k ≤ 1.15×: not measured (--compare 0)');
  }
}

if (args.phase) {
  if (args.phase !== 'copy') throw new Error(`unknown phase ${args.phase}`);
  copyPhase(args.db!, args.org!).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
} else {
  main().catch((error: Error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
