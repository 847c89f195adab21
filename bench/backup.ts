/**
 * Backup benchmark: N contacts in a fresh database; measures, each in a process of its own (so peak RSS is the
 * phase's alone):
 *   (a) baseline: `COPY (SELECT … the archive's contact columns …) TO STDOUT` through zlib (gzip level 1) to a file;
 *   (b) a full backup through the backup service: startManual → pg-boss → worker → archive (CSV + XLSX + ZIP,
 *       temporary file, rename) → COMPLETED.
 * Prints wall time, records/s and peak RSS of each, the ratio b/a, and the peak RSS of the backup at a smaller
 * size (default 100,000) next to N, which shows whether memory stays flat as the data grows.
 *
 *   node --import tsx bench/backup.ts [--rows 1000000] [--compare 100000]
 *
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

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    compare: { type: 'string', default: '100000' },
    // Internal: one measured phase, run in a child process.
    phase: { type: 'string' },
    db: { type: 'string' },
    org: { type: 'string' },
    admin: { type: 'string' },
  },
});
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const SELF = fileURLToPath(import.meta.url);

interface PhaseResult {
  phase: 'copy' | 'backup';
  records: number;
  wallMs: number;
  bytes: number;
  peakRssMb: number;
  /** Backup only: started_at → finished_at on the row (without the wait for a worker to take the job). */
  runnerMs?: number;
  /** Backup only: RSS of the idle service (worker role) before the backup starts. */
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
    const sql = `COPY (${moduleSelectSql('CONTACTS', `'${organizationId}'::uuid`)}) TO STDOUT WITH (FORMAT csv, HEADER true)`;
    const out = createWriteStream(file);
    await pipeline(client.query(copyTo(sql)), createGzip({ level: 1 }), out);
    const wallMs = performance.now() - started;
    const { rows } = await client.query<{ n: string }>('select count(*) as n from contacts where organization_id = $1', [organizationId]);
    return { phase: 'copy', records: Number(rows[0]!.n), wallMs, bytes: out.bytesWritten, peakRssMb: peakRssMb() };
  } finally {
    await client.end();
    await fs.rm(path.dirname(file), { recursive: true, force: true });
  }
}

async function backupPhase(dbUrl: string, organizationId: string, adminId: string): Promise<PhaseResult> {
  // Loaded here, not at the top: the baseline process must not pay for the service's modules.
  await import('reflect-metadata');
  const { default: pino } = await import('pino');
  const { createApp } = await import('../src/app.ts');
  const { loadConfig } = await import('../src/config.ts');
  const storage = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-backup-'));
  const config = loadConfig({ NODE_ENV: 'test', APP_SECRET: SECRET, DATA_DIR: storage, STORAGE_DIR: storage, LOG_LEVEL: 'warn' });
  const app = await createApp({ config, databaseUrl: dbUrl, appSecret: SECRET, role: 'worker', log: pino({ level: 'warn' }, pino.destination(2)), listen: { host: '127.0.0.1', port: 0 } });
  try {
    const idleRssMb = Math.round(process.memoryUsage.rss() / 1e6);
    const started = performance.now();
    const row = await app.services.backups.startManual({ userId: adminId, organizationId, role: 'ADMIN', email: 'bench@example.com' });
    for (;;) {
      const current = await app.services.backups.get(organizationId, row.id);
      if (current && current.status !== 'PENDING' && current.status !== 'RUNNING') {
        if (current.status !== 'COMPLETED') throw new Error(`backup ended ${current.status}: ${current.error}`);
        return {
          phase: 'backup',
          records: current.processedRecords,
          wallMs: performance.now() - started,
          bytes: current.sizeBytes ?? 0,
          peakRssMb: peakRssMb(),
          runnerMs: current.finishedAt!.getTime() - current.startedAt!.getTime(),
          idleRssMb,
        };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await app.close();
    await fs.rm(storage, { recursive: true, force: true });
  }
}

/** The process's peak resident set (this process and its worker threads), in MB. */
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

// ---------------------------------------------------------------------------------------------------------------
// Orchestration

function runPhase(phase: string, dbUrl: string, org: { id: string; adminId: string }): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', SELF, '--phase', phase, '--db', dbUrl, '--org', org.id, '--admin', org.adminId],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`phase ${phase} exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as PhaseResult);
    });
  });
}

async function seed(pool: pg.Pool, organizationId: string, rows: number): Promise<void> {
  // In slices, so one statement never holds a million-row transaction's worth of WAL in flight.
  const slice = 200_000;
  for (let from = 1; from <= rows; from += slice) {
    const to = Math.min(rows, from + slice - 1);
    await pool.query(
      `insert into contacts (organization_id, first_name, last_name, email, phone, job_title, address, notes, created_at, updated_at)
       select $1, 'First' || g, 'Last' || g, 'contact' || g || '@example.com', '+65 6' || lpad(g::text, 7, '0'), 'Engineer',
         g || ' Orchard Road, Singapore', case when g % 10 = 0 then '=SUM(A1)' else 'met at "expo", follow up' end,
         timestamptz '2024-01-01' + g * interval '1 second', timestamptz '2024-01-01' + g * interval '1 second'
       from generate_series($2::int, $3::int) g`,
      [organizationId, from, to],
    );
  }
  await pool.query('analyze contacts');
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
  try {
    const { runMigrations } = await import('../src/db/migrate.ts');
    await runMigrations(pool);
    const results: { rows: number; copy: PhaseResult; backup: PhaseResult; seedS: number }[] = [];
    for (const size of sizes) {
      const { rows: [org] } = await pool.query<{ id: string }>(`insert into organizations (name, timezone) values ($1, 'UTC') returning id`, [`Bench ${size}`]);
      const { rows: [user] } = await pool.query<{ id: string }>(
        `insert into users (organization_id, email, role, name) values ($1, $2, 'ADMIN', 'Bench') returning id`,
        [org!.id, `bench${size}@example.com`],
      );
      const seedStart = performance.now();
      await seed(pool, org!.id, size);
      const seedS = (performance.now() - seedStart) / 1000;
      console.error(`seeded ${fmt(size)} contacts in ${fmt(seedS, 1)} s; measuring…`);
      const target = { id: org!.id, adminId: user!.id };
      const copy = await runPhase('copy', dbUrl, target);
      const backup = await runPhase('backup', dbUrl, target);
      results.push({ rows: size, copy, backup, seedS });
    }
    report(results);
  } finally {
    await pool.end();
    await database.drop();
  }
}

function report(results: { rows: number; copy: PhaseResult; backup: PhaseResult }[]): void {
  console.log(`\nbackup benchmark (${os.cpus().length} cores, Node ${process.version})`);
  console.log('rows       phase                          wall s   records/s   output MB   peak RSS MB');
  for (const r of results) {
    for (const [label, p] of [['(a) COPY → gzip -1', r.copy], ['(b) backup service', r.backup]] as const) {
      console.log(
        `${fmt(r.rows).padEnd(10)} ${label.padEnd(30)} ${fmt(p.wallMs / 1000, 2).padStart(6)}   ${fmt(p.records / (p.wallMs / 1000)).padStart(9)}   ${fmt(p.bytes / 1e6, 1).padStart(9)}   ${fmt(p.peakRssMb).padStart(11)}`,
      );
    }
    const runner = r.backup.runnerMs === undefined ? '' : ` (runner alone ${fmt(r.backup.runnerMs / 1000, 2)} s, ratio ${fmt(r.backup.runnerMs / r.copy.wallMs, 1)}×)`;
    console.log(`${''.padEnd(10)} ratio b/a: ${fmt(r.backup.wallMs / r.copy.wallMs, 1)}×${runner}; service idle RSS ${fmt(r.backup.idleRssMb ?? 0)} MB`);
  }
  if (results.length > 1) {
    const [small, large] = [results[0]!, results.at(-1)!];
    console.log(
      `peak RSS of the backup: ${fmt(small.backup.peakRssMb)} MB at ${fmt(small.rows)} rows vs ${fmt(large.backup.peakRssMb)} MB at ${fmt(large.rows)} rows`,
    );
  }
}

if (args.phase) {
  const phase = args.phase;
  const run = phase === 'copy' ? copyPhase(args.db!, args.org!) : backupPhase(args.db!, args.org!, args.admin!);
  run.then(
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
