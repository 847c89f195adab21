/**
 * Benchmark of the backup archive writer (src/export) against a COPY → zlib(1) baseline.
 *
 *   node --import tsx bench/backup-archive.ts [--rows 1000000] [--small-rows 100000] [--repeat 1] [--inline]
 *                                             [--compare-csv] [--exceljs] [--keep]
 *
 * Creates its own database on BENCH_DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/postgres),
 * seeds two organizations (N and --small-rows contacts, server-side INSERT … SELECT generate_series: as fast as a
 * COPY and needs no client library), then runs each phase in a child process of its own so that peak RSS belongs
 * to that phase alone:
 *   baseline  COPY (the contacts SELECT of the archive) TO STDOUT (FORMAT csv) → zlib deflate level 1 → file,
 *             read by node-postgres (src/export/copy-out-query.ts) with nothing else in the way
 *   baseline-psql  the same COPY through `psql` (DESIGN.md's anchor: `COPY` piped to `zip -1`, ~5.3 s), piped
 *             into the same zlib level 1; run when psql is on PATH
 *   archive   buildArchive (CSV + XLSX + ZIP) for the same organization → file
 * Reported: wall time, records/s, process CPU (all threads), database backend CPU (read from /proc when the server
 * is local), peak RSS (sampled every 50 ms, and the kernel's maxRSS). --compare-csv also times CSV formatting
 * alone (csv-stringify vs the string formatter vs the byte transcoder); --exceljs times exceljs's streaming writer.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import pg from 'pg';
import { buildArchive } from '../src/export/archive-builder.ts';
import { ByteWriter } from '../src/export/byte-writer.ts';
import { escapeCell } from '../src/export/cell-escape.ts';
import { formatIsoUtc } from '../src/export/cell-format.ts';
import { CopyOutQuery } from '../src/export/copy-out-query.ts';
import { createCsvRowFormatter } from '../src/export/csv-writer.ts';
import { MODULE_SPECS, moduleSelectSql, type RowValues } from '../src/export/module-columns.ts';
import { BinaryCopyFraming } from '../src/export/binary-copy.ts';
import { RowTranscoder } from '../src/export/row-transcoder.ts';
import { createBenchDatabase } from './bench-database.ts';

const MB = 1024 * 1024;
const SELF = fileURLToPath(import.meta.url);

interface PhaseResult {
  phase: string;
  rows: number;
  wallMs: number;
  cpuMs: number;
  serverCpuMs: number | null;
  peakRssMb: number;
  maxRssMb: number;
  bytes: number;
}

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    'small-rows': { type: 'string', default: '100000' },
    repeat: { type: 'string', default: '1' },
    inline: { type: 'boolean', default: false },
    'compare-csv': { type: 'boolean', default: false },
    exceljs: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    child: { type: 'string' },
    url: { type: 'string' },
    org: { type: 'string' },
    count: { type: 'string' },
  },
});


async function main(): Promise<void> {
  const rows = Number(args.rows);
  const smallRows = Number(args['small-rows']);
  const database = await createBenchDatabase('bench_archive');
  const { name: dbName, url } = database;
  try {
    console.log(`database ${dbName}: migrating and seeding ${rows.toLocaleString()} + ${smallRows.toLocaleString()} contacts…`);
    const started = performance.now();
    const { big, small } = await seed(url, rows, smallRows);
    console.log(`seeded in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    if (args['compare-csv']) await compareCsv(url, big, Math.min(rows, 200_000));
    const results: PhaseResult[] = [];
    const psql = await hasPsql();
    for (let i = 0; i < Number(args.repeat); i++) {
      results.push(await child('baseline', url, big, rows));
      if (psql) results.push(await child('baseline-psql', url, big, rows));
      results.push(await child(args.inline ? 'archive-inline' : 'archive', url, big, rows));
    }
    results.push(await child(args.inline ? 'archive-inline' : 'archive', url, small, smallRows));
    if (args.exceljs) results.push(await child('exceljs', url, big, rows));
    report(results, rows, smallRows);
  } finally {
    if (!args.keep) await database.drop();
    else console.log(`kept database ${dbName}`);
  }
}

async function seed(url: string, rows: number, smallRows: number): Promise<{ big: string; small: string }> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    // Imported here only: drizzle's migrator adds ~200 MB of RSS, which must not count against the phases.
    const { runMigrations } = await import('../src/db/migrate.ts');
    await runMigrations(pool);
    const big = randomUUID();
    const small = randomUUID();
    const [bigOwner, smallOwner] = [randomUUID(), randomUUID()];
    await pool.query("insert into organizations (id, name) values ($1, 'Bench Big'), ($2, 'Bench Small')", [big, small]);
    // An owner in each organization: since ids are organization-scoped, a contact's owner must be of its own org.
    await pool.query(
      "insert into users (id, organization_id, email, role) values ($1, $2, 'owner@example.com', 'ADMIN'), ($3, $4, 'owner@example.com', 'ADMIN')",
      [bigOwner, big, smallOwner, small],
    );
    for (const [org, owner, count] of [[big, bigOwner, rows], [small, smallOwner, smallRows]] as const) {
      // Realistic shapes: quoted fields (comma, quote, newline), a third without owner, half with retention dates.
      await pool.query(
        `insert into contacts (organization_id, owner_id, created_at, updated_at, first_name, last_name, email, phone,
           job_title, address, notes, retention_ends_at, legal_hold)
         select $1, case when g % 3 = 0 then null else $2::uuid end,
           timestamptz '2020-01-01' + g * interval '1 second 1 millisecond', timestamptz '2021-01-01' + g * interval '7 millisecond',
           'First' || g, 'Last, ' || (g % 1000), 'user' || g || '@example.com', '+65 6' || lpad((g % 10000000)::text, 7, '0'),
           case when g % 5 = 0 then 'Engineer' else 'Sales "Lead"' end, g || ' Main Street' || E'\\n' || 'Singapore',
           case when g % 10 = 0 then null else 'Met at conference ' || g end,
           case when g % 2 = 0 then timestamptz '2030-01-01' + g * interval '1 second' else null end, g % 7 = 0
         from generate_series(1, $3::int) g`,
        [org, owner, count],
      );
    }
    await pool.query('vacuum analyze contacts');
    return { big, small };
  } finally {
    await pool.end();
  }
}

/** Runs one phase in a fresh Node process (same flags, so tsx too) and reads its JSON result. */
function child(phase: string, url: string, org: string, count: number): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, SELF, '--child', phase, '--url', url, '--org', org, '--count', String(count)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`phase ${phase} exited with ${code}`));
      const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as PhaseResult;
      console.log(line(result));
      resolve(result);
    });
  });
}

async function runPhase(phase: string, url: string, org: string, count: number): Promise<PhaseResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-archive-'));
  const file = path.join(dir, 'out.zip');
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  const server = new BackendCpu(url);
  await server.start();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  try {
    if (phase === 'baseline') await baseline(url, org, file, server);
    else if (phase === 'baseline-psql') await baselinePsql(url, org, file);
    else if (phase === 'exceljs') await exceljsNaive(url, org, count, file);
    else await archive(url, org, file, phase === 'archive-inline');
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpu0);
    return {
      phase,
      rows: count,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      serverCpuMs: await server.stop(),
      peakRssMb: Math.max(peak, process.memoryUsage.rss()) / MB,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      bytes: (await stat(file)).size,
    };
  } finally {
    clearInterval(sampler);
    await rm(dir, { recursive: true, force: true });
  }
}

/** COPY → deflate level 1 → file, with nothing else in the way (rows gathered into 1 MiB chunks). */
async function baseline(url: string, org: string, file: string, server: BackendCpu): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench baseline' });
  await client.connect();
  try {
    server.watch((await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid);
    const deflate = zlib.createDeflateRaw({ level: 1 });
    const written = pipeline(deflate, createWriteStream(file));
    const out = new ByteWriter();
    const drain = async (all: boolean): Promise<void> => {
      for (const chunk of out.take(all)) if (!deflate.write(chunk)) await new Promise<void>((r) => deflate.once('drain', () => r()));
    };
    const sql = moduleSelectSql('CONTACTS', `'${org}'::uuid`);
    const copy = new CopyOutQuery(`copy (${sql}) to stdout (format csv)`, (row) => {
      out.writeBytes(row);
      return out.hasFull ? drain(false) : undefined;
    });
    client.query(copy);
    await copy.done;
    await drain(true);
    deflate.end();
    await written;
  } finally {
    await client.end();
  }
}

/** `psql -c "copy (…) to stdout"` piped into zlib level 1: the baseline as DESIGN.md measured it. */
async function baselinePsql(url: string, org: string, file: string): Promise<void> {
  const sql = moduleSelectSql('CONTACTS', `'${org}'::uuid`);
  const proc = spawn('psql', ['-X', '-q', url, '-c', `copy (${sql}) to stdout (format csv)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve, reject) =>
    proc.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited with ${code}`)))),
  );
  await pipeline(proc.stdout, zlib.createDeflateRaw({ level: 1 }), createWriteStream(file));
  await exited;
}

function hasPsql(): Promise<boolean> {
  return new Promise((resolve) => {
    const proc = spawn('psql', ['--version'], { stdio: 'ignore' });
    proc.on('error', () => resolve(false));
    proc.on('exit', (code) => resolve(code === 0));
  });
}

async function archive(url: string, org: string, file: string, inline: boolean): Promise<void> {
  await buildArchive({
    connectionString: url,
    organizationId: org,
    organization: { id: org, name: 'Bench' },
    backupId: randomUUID(),
    trigger: 'MANUAL',
    createdAt: new Date(),
    modules: ['CONTACTS'],
    out: createWriteStream(file),
    inline,
  });
}

/** exceljs's streaming writer fed from a cursor, waiting for the file stream to drain: the road not taken. */
async function exceljsNaive(url: string, org: string, count: number, file: string): Promise<void> {
  const { default: ExcelJS } = await import('exceljs');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out = createWriteStream(file);
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false, zip: { zlib: { level: 1 } } });
    const sheet = workbook.addWorksheet('contacts');
    const columns = MODULE_SPECS.CONTACTS.columns;
    sheet.addRow(columns.map((c) => c.header)).commit();
    await client.query('begin isolation level repeatable read, read only');
    await client.query(`declare c no scroll cursor for ${moduleSelectSql('CONTACTS')}`, [org]);
    const dateStyle = { numFmt: 'yyyy-mm-dd hh:mm:ss.000' };
    for (let done = 0; done < count; ) {
      const { rows } = await client.query<unknown[]>({ text: 'fetch 5000 from c', rowMode: 'array' });
      if (rows.length === 0) break;
      for (const values of rows) {
        const row = sheet.addRow(values);
        columns.forEach((c, i) => {
          if (c.type === 'date') row.getCell(i + 1).style = dateStyle;
        });
        row.commit();
      }
      done += rows.length;
      if (out.writableNeedDrain) await new Promise<void>((r) => out.once('drain', () => r()));
      await new Promise((r) => setImmediate(r));
    }
    await client.query('commit');
    sheet.commit();
    await workbook.commit();
  } finally {
    await client.end();
  }
}

/** CSV formatting alone, on rows already in memory: is hand-rolled worth it over csv-stringify? */
async function compareCsv(url: string, org: string, count: number): Promise<void> {
  const { stringify } = await import('csv-stringify/sync');
  const columns = MODULE_SPECS.CONTACTS.columns;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const copyRows: Buffer[] = [];
  const framing = new BinaryCopyFraming();
  const sql = `${moduleSelectSql('CONTACTS', `'${org}'::uuid`)} limit ${count}`;
  const copy = new CopyOutQuery(`copy (${sql}) to stdout (format binary)`, (message) => {
    const row = framing.row(message);
    if (row) copyRows.push(Buffer.from(row));
  });
  client.query(copy);
  await copy.done;
  // The same rows as values, dates as epoch milliseconds (what the string formatters take).
  const { rows: raw } = await client.query<unknown[]>({ text: sql, rowMode: 'array' });
  const rows: RowValues[] = raw.map((values) => values.map((v) => (v instanceof Date ? v.getTime() : (v as RowValues[number]))));
  await client.end();
  const time = (label: string, fn: () => number): void => {
    fn(); // warm-up
    const t0 = performance.now();
    const bytes = fn();
    const ms = performance.now() - t0;
    console.log(`  ${label.padEnd(44)} ${((ms * 1000) / count).toFixed(2)} µs/row  (${(bytes / MB).toFixed(0)} MB)`);
  };
  console.log(`CSV formatting of ${count.toLocaleString()} contacts, in memory:`);
  const format = createCsvRowFormatter(columns);
  time('createCsvRowFormatter (strings → Buffer)', () => {
    let bytes = 0;
    for (let i = 0; i < rows.length; i += 5000) bytes += Buffer.byteLength(rows.slice(i, i + 5000).map(format).join(''));
    return bytes;
  });
  time('csv-stringify (same rules via cast/quoted_match)', () => {
    let bytes = 0;
    for (let i = 0; i < rows.length; i += 5000) {
      const text = stringify(rows.slice(i, i + 5000), {
        record_delimiter: '\r\n',
        quoted_empty: false,
        cast: {
          boolean: (v) => (v ? 'true' : 'false'),
          number: (v, context) => (columns[Number(context.column)]?.type === 'date' ? formatIsoUtc(v) : String(v)),
          string: (v) => (v === '' ? { value: '', quoted: true } : escapeCell(v)),
        },
      });
      bytes += Buffer.byteLength(text);
    }
    return bytes;
  });
  time('RowTranscoder (binary COPY → CSV + XLSX bytes)', () => {
    const transcoder = new RowTranscoder(columns);
    const csv = new ByteWriter();
    const xml = new ByteWriter();
    let bytes = 0;
    copyRows.forEach((row, i) => {
      transcoder.transcode(row, i + 2, csv, xml);
      if (csv.hasFull || xml.hasFull) for (const c of [...csv.take(), ...xml.take()]) bytes += c.length;
    });
    return bytes;
  });
  console.log();
}

/** CPU time of the database backends serving a phase, from /proc (same host only). */
class BackendCpu {
  readonly #url: string;
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #ticks = new Map<number, number>();
  #readable = true;
  #sampling = false;

  constructor(url: string) {
    this.#url = url;
  }

  async start(): Promise<void> {
    this.#client = new pg.Client({ connectionString: this.#url, application_name: 'bench monitor' });
    await this.#client.connect();
    this.#timer = setInterval(() => void this.#sample(), 50);
  }

  watch(pid: number | undefined): void {
    if (pid) this.#ticks.set(pid, 0);
  }

  async stop(): Promise<number | null> {
    clearInterval(this.#timer);
    await this.#client?.end();
    if (!this.#readable) return null;
    const hz = 100; // USER_HZ on Linux
    return ([...this.#ticks.values()].reduce((a, b) => a + b, 0) * 1000) / hz;
  }

  async #sample(): Promise<void> {
    if (this.#sampling) return; // one query at a time on this client
    this.#sampling = true;
    try {
      await this.#sampleNow();
    } finally {
      this.#sampling = false;
    }
  }

  async #sampleNow(): Promise<void> {
    const { rows } = await (this.#client as pg.Client)
      .query<{ pid: number }>(
        "select pid from pg_stat_activity where application_name in ('crm-data-admin backup', 'psql') and datname = current_database()",
      )
      .catch(() => ({ rows: [] as { pid: number }[] }));
    for (const { pid } of rows) if (!this.#ticks.has(pid)) this.#ticks.set(pid, 0);
    for (const pid of this.#ticks.keys()) {
      try {
        const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
        this.#ticks.set(pid, Number(fields[11]) + Number(fields[12])); // utime + stime
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.#readable = false; // gone = finished; else not local
      }
    }
  }
}

function line(r: PhaseResult): string {
  const server = r.serverCpuMs === null ? 'n/a' : `${(r.serverCpuMs / 1000).toFixed(1)} s`;
  return (
    `${r.phase.padEnd(15)} ${r.rows.toLocaleString().padStart(10)} rows  ${(r.wallMs / 1000).toFixed(2).padStart(6)} s  ` +
    `${Math.round(r.rows / (r.wallMs / 1000)).toLocaleString().padStart(9)} rec/s  cpu ${(r.cpuMs / 1000).toFixed(1)} s  ` +
    `db cpu ${server}  peak RSS ${r.peakRssMb.toFixed(0)} MB (maxRSS ${r.maxRssMb.toFixed(0)} MB)  ${(r.bytes / MB).toFixed(0)} MB`
  );
}

function report(results: PhaseResult[], rows: number, smallRows: number): void {
  const best = (phase: (p: string) => boolean, count: number): PhaseResult | undefined =>
    results.filter((r) => phase(r.phase) && r.rows === count).sort((a, b) => a.wallMs - b.wallMs)[0];
  const base = best((p) => p === 'baseline', rows);
  const basePsql = best((p) => p === 'baseline-psql', rows);
  const big = best((p) => p.startsWith('archive'), rows);
  const small = best((p) => p.startsWith('archive'), smallRows);
  if (!base || !big || !small) return;
  const ratio = big.wallMs / base.wallMs;
  const rssGrowth = big.peakRssMb / small.peakRssMb;
  console.log('\n(best run of each phase)');
  console.log(`archive / baseline wall time: ${ratio.toFixed(2)}x (target ≤ 4x: ${ratio <= 4 ? 'met' : 'NOT met'})`);
  if (basePsql) {
    const psqlRatio = big.wallMs / basePsql.wallMs;
    console.log(`archive / psql baseline wall time: ${psqlRatio.toFixed(2)}x (target ≤ 4x: ${psqlRatio <= 4 ? 'met' : 'NOT met'})`);
  }
  console.log(`peak RSS ${big.peakRssMb.toFixed(0)} MB at ${rows.toLocaleString()} rows (target < 300 MB: ${big.peakRssMb < 300 ? 'met' : 'NOT met'})`);
  console.log(
    `peak RSS ${small.peakRssMb.toFixed(0)} MB at ${smallRows.toLocaleString()} → ${big.peakRssMb.toFixed(0)} MB at ` +
      `${rows.toLocaleString()}: ${rssGrowth.toFixed(2)}x (target ≤ 1.25x: ${rssGrowth <= 1.25 ? 'met' : 'NOT met'})`,
  );
  console.log(`load average during the run: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (${os.cpus().length} cpus)`);
}



// Last: every class and function above is initialized by now.
if (args.child) {
  const result = await runPhase(args.child, args.url ?? '', args.org ?? '', Number(args.count));
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  await main();
}
