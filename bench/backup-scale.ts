/**
 * Backup at scale (issue 12, target 2), in two parts:
 *   (a) time and memory ×10: a full backup through the service (headless api here, the worker a process of its own,
 *       compiled, as bench/backup.ts runs it) of --small contacts and of --large contacts, in the same run. Target:
 *       time(large) ≤ 1.05 × (large/small) × time(small), i.e. ≤ 10.5× for 1M → 10M, and peak RSS of the worker
 *       process unchanged (≤ 1.15×). The large archive's contacts.xlsx is then checked: one sheet per 1,048,575
 *       rows, and a valid zip of its own (Python's zipfile). Seeding is server-side INSERT … SELECT generate_series
 *       on two connections (10M in a few minutes on a quiet machine).
 *   (b) ZIP64: our ZipWriter (src/export/zip-writer.ts) writes, each into a temporary file checked by Python's
 *       `zipfile` (testzip) and `unzip -t`:
 *         - one deflated (level 1) entry of 4.2 GiB of zeros (its size passes 4 GiB; the file stays small);
 *         - one stored entry of 4.2 GiB followed by a small entry (the offsets pass 4 GiB too; writes 4.2 GiB to
 *           disk; --no-stored skips it);
 *         - 70,000 tiny entries (more than 65,535).
 * Prints each figure, its baseline, the ratio and met/MISSED.
 *
 *   node --import tsx bench/backup-scale.ts [--small 1000000] [--large 10000000] [--no-stored] [--skip-scale]
 *                                           [--skip-zip64]
 *
 * Run `npm run build` first (the worker runs dist/). Uses BENCH_DATABASE_URL (default the local PostgreSQL) and a
 * database of its own, created and dropped; temporary files go to the OS temp dir and are removed.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ZipWriter } from '../src/export/zip-writer.ts';
import { XLSX_MAX_DATA_ROWS } from '../src/export/xlsx-writer.ts';
import { createOrg, seedContacts, startHeadlessApi, timeBackup, WorkerProcess, type BackupTiming } from './backup-service.ts';
import { createBenchDatabase } from './bench-database.ts';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    small: { type: 'string', default: '1000000' },
    large: { type: 'string', default: '10000000' },
    'no-stored': { type: 'boolean', default: false },
    'skip-scale': { type: 'boolean', default: false },
    'skip-zip64': { type: 'boolean', default: false },
  },
});

const GiB = 1024 ** 3;
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const lines: string[] = [];
const say = (line: string): void => {
  console.error(line);
  lines.push(line);
};

// ---------------------------------------------------------------------------------------------------------------
// (a) ×10

interface SizeResult extends BackupTiming {
  rows: number;
  peakRssMb: number;
  idleRssMb: number;
}

async function scale(small: number, large: number): Promise<void> {
  const database = await createBenchDatabase('crm_bench_backup_scale');
  const pool = new pg.Pool({ connectionString: database.url, max: 3 });
  const storage = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-backup-scale-'));
  let api: Awaited<ReturnType<typeof startHeadlessApi>> | undefined;
  try {
    const { runMigrations } = await import('../src/db/migrate.ts');
    await runMigrations(pool);
    api = await startHeadlessApi(database.url, storage);
    const results: SizeResult[] = [];
    for (const rows of [small, large]) {
      const org = await createOrg(pool, String(rows));
      const seedStart = performance.now();
      await seedContacts(pool, org.id, rows, 2);
      console.error(`seeded ${fmt(rows)} contacts in ${fmt((performance.now() - seedStart) / 1000, 1)} s; backing up…`);
      // A fresh worker per size: its peak RSS is this backup's alone.
      const worker = await WorkerProcess.start({ databaseUrl: database.url, storageDir: storage });
      try {
        const timing = await timeBackup(api, org);
        results.push({ rows, ...timing, peakRssMb: worker.peakRssMb(), idleRssMb: worker.idleRssMb });
      } finally {
        await worker.stop();
      }
      console.error(`  ${fmt(rows)}: ${fmt(results.at(-1)!.wallMs / 1000, 2)} s, peak RSS ${results.at(-1)!.peakRssMb} MB`);
      if (rows === large) await checkXlsxSheets(storage, rows);
    }
    reportScale(results[0]!, results[1]!);
  } finally {
    await api?.close();
    await pool.end();
    await database.drop();
    await fs.rm(storage, { recursive: true, force: true });
  }
}

function reportScale(small: SizeResult, large: SizeResult): void {
  const rowsRatio = large.rows / small.rows;
  const limit = 1.05 * rowsRatio;
  const timeRatio = large.wallMs / small.wallMs;
  say(`backup ${fmt(small.rows)}: ${fmt(small.wallMs / 1000, 2)} s (runner ${fmt(small.runnerMs / 1000, 2)} s), ${fmt(small.bytes / 1e6, 1)} MB, peak RSS ${small.peakRssMb} MB (idle ${small.idleRssMb} MB)`);
  say(`backup ${fmt(large.rows)}: ${fmt(large.wallMs / 1000, 2)} s (runner ${fmt(large.runnerMs / 1000, 2)} s), ${fmt(large.bytes / 1e6, 1)} MB, peak RSS ${large.peakRssMb} MB (idle ${large.idleRssMb} MB)`);
  say(
    `time at ${fmt(large.rows)}: ${fmt(large.wallMs / 1000, 2)} s; baseline ${fmt(small.rows)} ${fmt(small.wallMs / 1000, 2)} s; ratio ${fmt(timeRatio, 2)}×; ≤ ${fmt(limit, 2)}×: ${verdict(timeRatio <= limit)}`,
  );
  const rssRatio = large.peakRssMb / small.peakRssMb;
  say(
    `peak RSS at ${fmt(large.rows)}: ${large.peakRssMb} MB; baseline ${fmt(small.rows)} ${small.peakRssMb} MB; ratio ${fmt(rssRatio, 2)}×; unchanged (≤ 1.15×): ${verdict(rssRatio <= 1.15)}`,
  );
}

/** The large archive's contacts.xlsx: a valid zip with one worksheet per 1,048,575 rows. */
async function checkXlsxSheets(storage: string, rows: number): Promise<void> {
  // Both sizes' archives are in `storage`, named by ids: the large one is the biggest file.
  const names = (await fs.readdir(storage, { recursive: true })).filter((f) => f.endsWith('.zip'));
  const sized = await Promise.all(names.map(async (name) => ({ name, bytes: (await fs.stat(path.join(storage, name))).size })));
  const archive = path.join(storage, sized.sort((a, b) => b.bytes - a.bytes)[0]!.name);
  const script = `
import io, sys, zipfile
outer = zipfile.ZipFile(sys.argv[1])
inner = zipfile.ZipFile(io.BytesIO(outer.read('contacts.xlsx'))) if outer.getinfo('contacts.xlsx').file_size < 2**31 else None
if inner is None:
    print('skipped too-large')
else:
    sheets = [n for n in inner.namelist() if n.startswith('xl/worksheets/sheet')]
    print(len(sheets), inner.testzip())
`;
  const { stdout } = await run('python3', ['-c', script, archive], { maxBuffer: 1 << 20 });
  const [count, bad] = stdout.trim().split(' ');
  const expected = Math.ceil(rows / XLSX_MAX_DATA_ROWS);
  say(
    `contacts.xlsx of ${fmt(rows)} rows: ${count} worksheet(s), expected ${expected}; zipfile.testzip: ${bad === 'None' ? 'ok' : bad}; ${verdict(Number(count) === expected && bad === 'None')}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// (b) ZIP64

interface Zip64Case {
  name: string;
  write(zip: ZipWriter): Promise<{ entries: number; largestBytes: number }>;
}

const ZERO_CHUNK = Buffer.alloc(4 << 20);
const BIG_ENTRY_BYTES = Math.round(4.2 * GiB);

async function writeZeros(zip: ZipWriter, name: string, store: boolean): Promise<number> {
  const entry = zip.openEntry(name, { store });
  for (let left = BIG_ENTRY_BYTES; left > 0; left -= ZERO_CHUNK.length) {
    await entry.sink.write(left >= ZERO_CHUNK.length ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, left));
  }
  const info = await entry.end();
  if (info.bytes !== BIG_ENTRY_BYTES) throw new Error(`${name}: ZipWriter counted ${info.bytes} bytes, wrote ${BIG_ENTRY_BYTES}`);
  return info.bytes;
}

const ZIP64_CASES: Zip64Case[] = [
  {
    name: 'one deflated entry of 4.2 GiB',
    async write(zip) {
      const bytes = await writeZeros(zip, 'zeros.bin', false);
      zip.appendBuffer('after.txt', Buffer.from('after the large entry\n'));
      return { entries: 2, largestBytes: bytes };
    },
  },
  {
    name: 'one stored entry of 4.2 GiB, then one more (offsets past 4 GiB)',
    async write(zip) {
      const bytes = await writeZeros(zip, 'zeros.bin', true);
      zip.appendBuffer('after.txt', Buffer.from('after the large entry\n'));
      return { entries: 2, largestBytes: bytes };
    },
  },
  {
    name: '70,000 tiny entries',
    async write(zip) {
      const count = 70_000;
      for (let i = 0; i < count; i += 1) zip.appendBuffer(`tiny/${i}.txt`, Buffer.from(`entry ${i}\n`));
      return { entries: count, largestBytes: 0 };
    },
  },
];

async function zip64(includeStored: boolean): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-zip64-'));
  try {
    for (const [index, testCase] of ZIP64_CASES.entries()) {
      if (!includeStored && testCase.name.startsWith('one stored')) {
        say(`ZIP64 ${testCase.name}: skipped (--no-stored)`);
        continue;
      }
      const file = path.join(dir, `case${index}.zip`);
      const started = performance.now();
      const zip = new ZipWriter(createWriteStream(file), { level: 1, date: new Date('2026-01-01T00:00:00Z') });
      const { entries, largestBytes } = await testCase.write(zip);
      const { bytes } = await zip.finalize();
      const writeS = (performance.now() - started) / 1000;
      const python = await pythonCheck(file, entries, largestBytes);
      const unzip = await unzipCheck(file);
      say(
        `ZIP64 ${testCase.name}: archive ${fmt(bytes / 1e6, 1)} MB written in ${fmt(writeS, 1)} s; python zipfile: ${python}; unzip -t: ${unzip}; ${verdict(python === 'ok' && unzip === 'ok')}`,
      );
      await fs.rm(file, { force: true });
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** zipfile reads the central directory (ZIP64 records included), checks the count and sizes, then every CRC. */
async function pythonCheck(file: string, entries: number, largestBytes: number): Promise<string> {
  const script = `
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
infos = z.infolist()
largest = max(i.file_size for i in infos)
if len(infos) != int(sys.argv[2]): print('entries', len(infos)); sys.exit()
if largest < int(sys.argv[3]): print('largest', largest); sys.exit()
bad = z.testzip()
print('ok' if bad is None else 'bad CRC in ' + bad)
`;
  try {
    const { stdout } = await run('python3', ['-c', script, file, String(entries), String(largestBytes)], { maxBuffer: 1 << 20 });
    return stdout.trim();
  } catch (error) {
    return `failed: ${String((error as { stderr?: string }).stderr ?? error).trim().split('\n').at(-1)}`;
  }
}

async function unzipCheck(file: string): Promise<string> {
  try {
    await run('unzip', ['-tqq', file], { maxBuffer: 64 << 20 });
    return 'ok';
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    return `exit ${code}: ${`${stdout ?? ''}${stderr ?? ''}`.trim().split('\n').slice(0, 3).join(' | ')}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const small = Number(args.small);
  const large = Number(args.large);
  if (!Number.isInteger(small) || small < 1 || !Number.isInteger(large) || large <= small) {
    throw new Error('--small and --large must be integers with 0 < small < large');
  }
  if (!args['skip-zip64']) await zip64(!args['no-stored']);
  if (!args['skip-scale']) await scale(small, large);
  console.log(`\nbackup at scale (${os.cpus().length} cores, Node ${process.version})`);
  for (const line of lines) console.log(line);
}

main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
