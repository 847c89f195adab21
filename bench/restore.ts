/**
 * Restore benchmark (issue 12, target 3): N contacts imported through `POST /imports` (the real HTTP upload, the
 * pg-boss job, validated batches) from our archive's CSV and from its XLSX, against the floor measured in the same
 * run: `COPY … FROM STDIN` of the same N records into an indexed copy of the contacts table (`LIKE contacts
 * INCLUDING ALL` plus its foreign keys: the same indexes and constraints), from a file in that table's own shape.
 *
 * The service runs as two processes, as in production: the api role in this process (it takes the upload), and
 * for every import a fresh worker-role process (bench/restore-worker.ts: the compiled build, run with the V8 flags
 * of bin/crm-data-admin; it runs the job: copy of the upload, parser thread, batches). The peak RSS printed is that
 * worker process's own while the import ran (the kernel's high-water mark, reset once the service has started;
 * parser thread included), with its idle RSS beside it. Run `npm run build` first: the worker runs dist/.
 *
 *   node --import tsx bench/restore.ts [--rows 1000000] [--batch N] [--parallel N] [--repeat 1] [--formats csv,xlsx]
 *                                      [--profile DIR] [--worker-flags "…"]
 *
 * `--profile DIR` writes a CPU profile of each worker process into DIR; `--worker-flags="…"` adds these Node/V8
 * flags to each worker process (experiments).
 *
 * Targets, per format: import ≤ 3× the indexed COPY FROM; worker peak RSS ≤ 200 MB. Prints met/MISSED for each.
 * Uses BENCH_DATABASE_URL (default the local PostgreSQL) and a database of its own, created and dropped.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, openAsBlob } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import pino from 'pino';
import { createApp, type App } from '../src/app.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { writableSink } from '../src/export/chunk-writer.ts';
import { CsvWriter } from '../src/export/csv-writer.ts';
import { MODULE_SPECS, type RowValues } from '../src/export/module-columns.ts';
import { XlsxWriter } from '../src/export/xlsx-writer.ts';
import { createBenchDatabase } from './bench-database.ts';
import { workerNodeFlags } from './worker-flags.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    batch: { type: 'string' },
    repeat: { type: 'string', default: '1' },
    parallel: { type: 'string' },
    // Internal: the file generation runs in a child process, so that its memory does not count anywhere.
    generate: { type: 'string' },
    owner: { type: 'string' },
    // Writes a CPU profile of each worker process (its main thread) into this folder (`node --cpu-prof`).
    profile: { type: 'string' },
    // Extra Node/V8 flags for each worker process (experiments such as `--max-semi-space-size=4`), space-separated.
    'worker-flags': { type: 'string' },
    // Which files to import: csv, xlsx or both (comma-separated).
    formats: { type: 'string', default: 'csv,xlsx' },
  },
});
const ROWS = Number(args.rows);
if (!Number.isInteger(ROWS) || ROWS < 1) throw new Error('--rows must be a positive integer');
const BATCH = args.batch ? Number(args.batch) : undefined;
// On a shared machine every timing is noisy: each measurement is taken this many times and the fastest kept.
const REPEAT = Number(args.repeat);
if (!Number.isInteger(REPEAT) || REPEAT < 1) throw new Error('--repeat must be a positive integer');
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const COLUMNS = MODULE_SPECS.CONTACTS.columns;
const MB = 1024 * 1024;
const SELF = fileURLToPath(import.meta.url);
const WORKER_ENTRY = fileURLToPath(new URL('./restore-worker.ts', import.meta.url));
const TARGET_RATIO = 3;
const TARGET_RSS_MB = 200;

/** The same configuration in both processes: they share the database and the file store. */
function benchConfig(dir: string): Config {
  return loadConfig({ NODE_ENV: 'test', APP_SECRET: SECRET, LOG_LEVEL: 'warn', DATA_DIR: dir, IMPORT_MAX_BYTES: String(8 * 1024 ** 3), RATE_LIMIT_PER_MINUTE: '0' });
}

async function main(): Promise<void> {
  if (!existsSync(fileURLToPath(new URL('../dist/app.js', import.meta.url)))) throw new Error('the worker process runs the compiled build: run `npm run build` first');
  const database = await createBenchDatabase('crm_bench_restore');
  const url = new URL(database.url);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-bench-restore-'));
  let app: App | undefined;
  try {
    app = await createApp({ config: benchConfig(dir), databaseUrl: url.toString(), appSecret: SECRET, role: 'api', log: pino({ level: 'warn' }), listen: { host: '127.0.0.1', port: 0 } });
    await run(app, url.toString(), dir);
  } finally {
    await app?.close();
    await database.drop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function run(app: App, databaseUrl: string, dir: string): Promise<void> {
  const { organization, admin } = await app.services.auth.createOrganization({ name: 'Bench restore', timezone: 'UTC' });
  const csvFile = path.join(dir, 'contacts.csv');
  const xlsxFile = path.join(dir, 'contacts.xlsx');
  const tableFile = path.join(dir, 'contacts-table.csv');
  log(`writing ${ROWS.toLocaleString('en')} contacts as CSV and XLSX…`);
  await generateInChild(admin.email, dir);
  const sizes = { csv: (await fs.stat(csvFile)).size, xlsx: (await fs.stat(xlsxFile)).size };
  log(`CSV ${(sizes.csv / MB).toFixed(1)} MB, XLSX ${(sizes.xlsx / MB).toFixed(1)} MB`);
  await writeTableShapedFile(databaseUrl, csvFile, tableFile, organization.id);

  let copyS = Number.POSITIVE_INFINITY;
  const best = new Map<string, Measured>();
  for (let round = 1; round <= REPEAT; round++) {
    // Interleaved, so that a burst of load elsewhere hits every path alike.
    const floor = await copyIntoIndexedCopy(databaseUrl, tableFile);
    copyS = Math.min(copyS, floor);
    log(`round ${round}: COPY FROM into an indexed copy of contacts ${floor.toFixed(2)} s`);
    const formats = args.formats.toLowerCase().split(',');
    for (const [label, file, fileName] of [
      ['CSV', csvFile, 'contacts.csv'],
      ['XLSX', xlsxFile, 'contacts.xlsx'],
    ] as const) {
      if (!formats.includes(label.toLowerCase())) continue;
      await app.services.pool.query('truncate contacts cascade');
      await app.services.pool.query('vacuum analyze contacts');
      const result = await timedImport(app, databaseUrl, dir, admin.token, file, fileName);
      const { rows } = await app.services.pool.query<{ n: number }>('select count(*)::int as n from contacts where organization_id = $1', [organization.id]);
      if (rows[0]!.n !== ROWS) throw new Error(`${label}: ${rows[0]!.n} contacts imported, expected ${ROWS}`);
      const previous = best.get(label);
      best.set(label, previous ? fastest(previous, result) : result);
      log(`round ${round}: ${label} upload ${result.uploadS.toFixed(2)} s + job ${result.jobS.toFixed(2)} s, worker peak RSS ${result.peakMb.toFixed(0)} MB (idle ${result.idleMb.toFixed(0)} MB; main-thread heap ${result.heapUsedMb.toFixed(0)} MB used of ${result.heapTotalMb.toFixed(0)} MB)`);
    }
  }
  report(copyS, best);
}

function report(copyS: number, best: Map<string, Measured>): void {
  const options = `batch ${BATCH ?? 'default'}, parallel ${args.parallel ?? 'default'}, worker flags ${workerNodeFlags().join(' ')} ${args['worker-flags'] ?? ''}`.trim();
  console.log(`\nrestore of ${ROWS.toLocaleString('en')} contacts (${options}; best of ${REPEAT})`);
  console.log('| path | upload s | job s | total s | × indexed COPY | ≤ 3× | worker peak RSS MB | ≤ 200 MB | worker idle RSS MB | main heap used / reserved MB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  console.log(`| COPY FROM into an indexed copy of contacts (baseline) | | | ${copyS.toFixed(2)} | 1.0 | | | | | |`);
  for (const [label, r] of best) {
    const ratio = r.totalS / copyS;
    console.log(
      `| ${label} import | ${r.uploadS.toFixed(2)} | ${r.jobS.toFixed(2)} | ${r.totalS.toFixed(2)} | ${ratio.toFixed(2)} | ${verdict(ratio <= TARGET_RATIO)} | ${r.peakMb.toFixed(0)} | ${verdict(r.peakMb <= TARGET_RSS_MB)} | ${r.idleMb.toFixed(0)} | ${r.heapUsedMb.toFixed(0)} / ${r.heapTotalMb.toFixed(0)} |`,
    );
  }
  for (const [label, r] of best) {
    const ratio = r.totalS / copyS;
    console.log(`${label}: ${r.totalS.toFixed(2)} s vs indexed COPY ${copyS.toFixed(2)} s = ${ratio.toFixed(2)}× (≤ ${TARGET_RATIO}×: ${verdict(ratio <= TARGET_RATIO)}); worker peak RSS ${r.peakMb.toFixed(0)} MB (≤ ${TARGET_RSS_MB} MB: ${verdict(r.peakMb <= TARGET_RSS_MB)})`);
  }
}

const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

function generateInChild(ownerEmail: string, dir: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--generate', dir, '--rows', String(ROWS), '--owner', ownerEmail], {
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`file generation exited with ${code}`))));
  });
}

/** Our archive's contacts file: the writers of src/export, rows in the module's column order. */
async function writeFiles(ownerEmail: string, csvFile: string, xlsxFile: string): Promise<void> {
  const csvOut = createWriteStream(csvFile);
  const csv = new CsvWriter(COLUMNS, writableSink(csvOut));
  const xlsx = new XlsxWriter({ out: createWriteStream(xlsxFile), sheetName: 'contacts', columns: COLUMNS, expectedRows: ROWS });
  const base = Date.UTC(2024, 0, 1);
  for (let start = 0; start < ROWS; start += 5_000) {
    const rows: RowValues[] = [];
    for (let i = start; i < Math.min(ROWS, start + 5_000); i++) {
      rows.push([
        randomUUID(), `First${i}`, `Last ${i}`, `person${i}@example.com`, `+65 6${String(i).padStart(7, '0')}`, 'Engineer',
        `${i} Orchard Road, Singapore`, i % 10 === 0 ? `Met at "expo", said: =hello, ${i}` : null, null, ownerEmail,
        base + i * 1000, base + i * 1000 + 500, null, null, null, false,
      ]);
    }
    await csv.writeRows(rows);
    await xlsx.writeRows(rows);
  }
  await csv.end();
  await new Promise((resolve) => csvOut.end(resolve));
  await xlsx.finish();
}

/**
 * The records in the contacts table's own shape, for the floor: the archive CSV loaded by SQL alone (COPY into a
 * plain table, one INSERT … SELECT resolving the owner), then `COPY contacts TO` a file. Contacts are emptied again.
 */
async function writeTableShapedFile(databaseUrl: string, csvFile: string, tableFile: string, organizationId: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`create temp table archive_rows (id uuid, first_name text, last_name text, email text, phone text,
      job_title text, address text, notes text, account_id uuid, owner_email text, created_at timestamptz(3),
      updated_at timestamptz(3), retention_ends_at timestamptz(3), deletes_at timestamptz(3), masked_at timestamptz(3),
      legal_hold boolean)`);
    await pipeline(createReadStream(csvFile), client.query(copyFrom('copy archive_rows from stdin (format csv, header true)')));
    await client.query(
      `insert into contacts (id, organization_id, owner_id, first_name, last_name, email, phone, job_title, address, notes,
         account_id, created_at, updated_at, legal_hold)
       select c.id, $1, u.id, c.first_name, c.last_name, c.email, c.phone, c.job_title, c.address, c.notes, c.account_id,
         c.created_at, c.updated_at, coalesce(c.legal_hold, false)
       from archive_rows c left join users u on u.organization_id = $1 and lower(u.email) = lower(c.owner_email)`,
      [organizationId],
    );
    await pipeline(client.query(copyTo('copy contacts to stdout')), createWriteStream(tableFile));
    await client.query('truncate contacts cascade');
  } finally {
    await client.end();
  }
}

/**
 * The floor: seconds of `COPY … FROM STDIN` of the table-shaped file into a fresh copy of contacts with the same
 * indexes, check constraints, defaults and foreign keys (LIKE … INCLUDING ALL copies all but the foreign keys,
 * which are added from the catalog). Dropped afterwards.
 */
async function copyIntoIndexedCopy(databaseUrl: string, tableFile: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('drop table if exists contacts_copy');
    await client.query('create table contacts_copy (like contacts including all)');
    const { rows } = await client.query<{ def: string }>(
      "select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'contacts'::regclass and contype = 'f'",
    );
    for (const { def } of rows) await client.query(`alter table contacts_copy add ${def}`);
    await client.query('vacuum analyze contacts_copy');
    const started = performance.now();
    await pipeline(createReadStream(tableFile), client.query(copyFrom('copy contacts_copy from stdin')));
    const seconds = (performance.now() - started) / 1000;
    await client.query('drop table contacts_copy');
    return seconds;
  } finally {
    await client.end();
  }
}

interface Measured {
  uploadS: number;
  jobS: number;
  totalS: number;
  /** The worker process's peak and idle RSS. */
  peakMb: number;
  idleMb: number;
  /** The worker's main thread: peak V8 heap used and reserved. */
  heapUsedMb: number;
  heapTotalMb: number;
}

interface WorkerFigures {
  peakMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
}

/** The fastest run's times; memory: the highest seen in any run. */
function fastest(a: Measured, b: Measured): Measured {
  const quick = b.totalS < a.totalS ? b : a;
  const most = (k: 'peakMb' | 'idleMb' | 'heapUsedMb' | 'heapTotalMb') => Math.max(a[k], b[k]);
  return { ...quick, peakMb: most('peakMb'), idleMb: most('idleMb'), heapUsedMb: most('heapUsedMb'), heapTotalMb: most('heapTotalMb') };
}

/** One import: a fresh worker process, the upload through the api, the job to its end, the worker's peak RSS. */
async function timedImport(app: App, databaseUrl: string, dir: string, token: string, file: string, fileName: string): Promise<Measured> {
  const worker = await WorkerProcess.start(databaseUrl, dir);
  try {
    const started = performance.now();
    const form = new FormData();
    form.append('module', 'CONTACTS');
    form.append('file', await openAsBlob(file), fileName);
    const res = await fetch(`${app.http!.url}/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
      body: form,
    });
    const body = (await res.json()) as { importId?: string };
    if (res.status !== 202 || !body.importId) throw new Error(`upload refused: ${res.status} ${JSON.stringify(body)}`);
    const accepted = performance.now();
    const job = await waitForJob(app, body.importId);
    if (job.status !== 'COMPLETED' || job.failed > 0) throw new Error(`import ended ${job.status}: ${JSON.stringify(job)}`);
    const done = performance.now();
    const { peakMb, heapUsedMb, heapTotalMb } = await worker.stop();
    return { uploadS: (accepted - started) / 1000, jobS: (done - accepted) / 1000, totalS: (done - started) / 1000, peakMb, idleMb: worker.idleMb, heapUsedMb, heapTotalMb };
  } finally {
    worker.kill();
  }
}

/** A worker-role service in a child process; it reports its idle RSS once started and its peak RSS when told to stop. */
class WorkerProcess {
  private constructor(
    private readonly child: ChildProcess,
    private readonly lines: AsyncIterator<string>,
    readonly idleMb: number,
  ) {}

  static async start(databaseUrl: string, dir: string): Promise<WorkerProcess> {
    const profile = args.profile ? ['--cpu-prof', '--cpu-prof-dir', args.profile] : [];
    const flags = args['worker-flags']?.split(' ').filter(Boolean) ?? [];
    // bin/crm-data-admin's V8 flags for a worker, then any of the experiment's.
    const node = [...workerNodeFlags(), ...flags, ...profile];
    const child = spawn(process.execPath, [...node, WORKER_ENTRY, databaseUrl, dir, args.batch ?? '', args.parallel ?? ''], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const ready = await lines.next();
    if (ready.done) throw new Error('the worker process ended before it was ready');
    return new WorkerProcess(child, lines, (JSON.parse(ready.value) as { idleMb: number }).idleMb);
  }

  async stop(): Promise<WorkerFigures> {
    this.child.stdin!.end();
    const last = await this.lines.next();
    if (last.done) throw new Error('the worker process ended without its figures');
    // It exits by itself (a CPU profile is written on exit); killed only if it does not.
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      this.child.once('exit', () => resolve(clearTimeout(timer)));
    });
    return JSON.parse(last.value) as WorkerFigures;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill();
  }
}

async function waitForJob(app: App, id: string): Promise<{ status: string; failed: number; error: string | null }> {
  for (;;) {
    const { rows } = await app.services.pool.query<{ status: string; failed: number; error: string | null }>(
      'select status, failed, error from import_jobs where id = $1',
      [id],
    );
    const job = rows[0];
    if (job && (job.status === 'COMPLETED' || job.status === 'FAILED')) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

const entry = args.generate
  ? () => writeFiles(args.owner ?? 'owner@example.com', path.join(args.generate!, 'contacts.csv'), path.join(args.generate!, 'contacts.xlsx'))
  : main;
entry().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
