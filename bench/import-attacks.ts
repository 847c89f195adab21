/**
 * The import attacks of issue 9 against a running service (role all: API and job worker in one process, as
 * `npm start` runs them): for each crafted file, the latency of `GET /healthz` polled while the attack runs
 * (baseline: the same polling with nothing running, same run), how the import ended, and the peak RSS of the
 * process; then the worst bomb's peak RSS. Figures only: nothing here is asserted.
 *
 *   node --import tsx bench/import-attacks.ts [--depth 3000000] [--entry-mib 256]
 *
 * The caps are the regression test's small ones (so each file stays small) except the parser heap, which keeps its
 * default (IMPORT_WORKER_MEMORY_MB=512), and IMPORT_MAX_ENTRY_BYTES (256 MiB): the last attack (48 MB of sheet XML)
 * must pass every cap and run the parser thread out of its heap. With --entry-mib 32 the 40 MB XLSX entry is
 * refused on its size instead of its ratio.
 * Targets: /healthz p99 < 100 ms during every attack; peak RSS growth < 1 GB. Uses BENCH_DATABASE_URL.
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { MODULE_SPECS } from '../src/export/module-columns.ts';
import { columnName, incompressible, xlsxOf, zipOf } from '../test/support/hostile-files.ts';
import { createBenchDatabase } from './bench-database.ts';

const { values: args } = parseArgs({ options: { depth: { type: 'string', default: '3000000' }, 'entry-mib': { type: 'string', default: '256' } } });
const DEPTH = Number(args.depth);
const ENTRY_MIB = Number(args['entry-mib']);
const MiB = 1024 ** 2;
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const header = (module: 'LEADS' | 'CONTACTS') => `${MODULE_SPECS[module].columns.map((c) => c.header).join(',')}\r\n`;

interface Attack {
  name: string;
  build(): Promise<{ data: Buffer; name: string; module?: string }>;
}

const ATTACKS: Attack[] = [
  { name: 'XLSX, one cell r="GAAAAA1"', build: async () => ({ data: await xlsxOf('<row r="1"><c r="GAAAAA1" t="inlineStr"><is><t>x</t></is></c></row>'), name: 'c.xlsx', module: 'CONTACTS' }) },
  { name: 'XLSX, a cell at column 601', build: async () => ({ data: await xlsxOf(`<row r="1"><c r="${columnName(600)}1"><v>1</v></c></row>`), name: 'c.xlsx', module: 'CONTACTS' }) },
  {
    name: 'XLSX, 2.4 MB of shared strings',
    build: async () => ({
      data: await xlsxOf('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', { sharedStrings: `<sst>${Array.from({ length: 30_000 }, () => `<si><t>${incompressible(64)}</t></si>`).join('')}</sst>` }),
      name: 'c.xlsx',
      module: 'CONTACTS',
    }),
  },
  { name: 'ZIP, 2 MB manifest.json', build: async () => ({ data: await zipOf({ 'manifest.json': `{"formatVersion":1,"pad":"${incompressible(2 * MiB)}"}`, 'leads.csv': header('LEADS') }), name: 'b.zip' }) },
  { name: 'ZIP, 40 MB contacts.xlsx entry', build: async () => ({ data: await zipOf({ 'contacts.xlsx': Buffer.alloc(40 * MiB) }), name: 'b.zip' }) },
  { name: 'ZIP, 20 MB entry at ~1000:1', build: async () => ({ data: await zipOf({ 'leads.csv': Buffer.concat([Buffer.from(header('LEADS')), Buffer.alloc(20 * MiB, 'a')]) }), name: 'b.zip' }) },
  {
    name: 'ZIP, 151 entries',
    build: async () => ({ data: await zipOf(Object.fromEntries([['leads.csv', header('LEADS')], ...Array.from({ length: 150 }, (_v, i) => [`j/${i}`, 'x'])])), name: 'b.zip' }),
  },
  {
    name: 'CSV, one 50 MB field',
    build: async () => ({
      data: Buffer.concat([Buffer.from(`${header('CONTACTS')}"${randomUUID()}","`), Buffer.alloc(50 * MiB, 'x'), Buffer.from('"\r\n')]),
      name: 'c.csv',
      module: 'CONTACTS',
    }),
  },
  {
    name: `XLSX, ${DEPTH.toLocaleString('en')} nested elements (no cap applies)`,
    build: async () => {
      const open = Array.from({ length: DEPTH }, () => `<x a="${randomBytes(4).toString('hex')}">`).join('');
      const sheet = Buffer.from(`<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${open}</sheetData></worksheet>`);
      return { data: await xlsxOf(sheet), name: 'c.xlsx', module: 'CONTACTS' };
    },
  },
];

/** Polls /healthz back to back until stopped; resolves with the latencies (ms). */
function pollHealth(url: string): { stop(): Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const start = performance.now();
      // A connection per probe, like an outside health checker (and no pooled socket the server may close as idle).
      await new Promise<void>((resolve, reject) =>
        http.get(`${url}/healthz`, { agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject),
      );
      latencies.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return { stop: async () => ((running = false), await loop, latencies) };
}

function peakRss(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  return { stop: () => (clearInterval(timer), Math.max(peak, process.memoryUsage.rss())) };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? Number.NaN;
const ms = (x: number) => `${x.toFixed(1)} ms`;

/**
 * POST /imports on a connection of its own (client and server share this process: a pooled keep-alive socket
 * can be closed as idle by the server while a large body is being prepared).
 */
async function upload(url: string, token: string, file: { data: Buffer; name: string; module?: string }): Promise<string> {
  const boundary = `----${randomUUID()}`;
  const field = file.module ? `--${boundary}\r\nContent-Disposition: form-data; name="module"\r\n\r\n${file.module}\r\n` : '';
  const head = `${field}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), file.data, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(`${url}/imports`, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'x-requested-with': 'bench', 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
  const parsed = JSON.parse(text) as { importId?: string };
  if (status !== 202 || !parsed.importId) throw new Error(`upload refused: ${status} ${text}`);
  return parsed.importId;
}

async function waitFinished(app: App, id: string): Promise<{ status: string; error: string | null }> {
  for (;;) {
    const { rows } = await app.services.pool.query<{ status: string; error: string | null }>('select status, error from import_jobs where id = $1', [id]);
    if (rows[0] && (rows[0].status === 'COMPLETED' || rows[0].status === 'FAILED')) return rows[0];
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Chunked upload (no Content-Length) that never ends on its own: time to the 413 and bytes sent by then. */
function chunkedOverLimit(url: string, token: string): Promise<{ status: number; ms: number; sent: number }> {
  const boundary = `----${randomUUID()}`;
  const start = performance.now();
  return new Promise((resolve, reject) => {
    let sent = 0;
    let done = false;
    const req = http.request(`${url}/imports`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'x-requested-with': 'bench' } });
    req.on('response', (res) => ((done = true), res.resume(), resolve({ status: res.statusCode ?? 0, ms: performance.now() - start, sent })));
    req.on('error', (e) => !done && reject(e));
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="module"\r\n\r\nCONTACTS\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = (): void => {
      while (!done && sent < 4 * 1024 ** 3) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
    };
    pump();
  });
}

async function main(): Promise<void> {
  const database = await createBenchDatabase('crm_bench_attacks');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-bench-attacks-'));
  const config = loadConfig({
    APP_SECRET: SECRET,
    DATA_DIR: dir,
    IMPORT_MAX_BYTES: String(64 * MiB),
    IMPORT_MAX_ENTRY_BYTES: String(ENTRY_MIB * MiB),
    IMPORT_MAX_SHARED_STRINGS_BYTES: String(MiB),
    IMPORT_MAX_ZIP_ENTRIES: '100',
    RATE_LIMIT_PER_MINUTE: '0',
  });
  const app = await createApp({ config, databaseUrl: database.url, appSecret: SECRET, log: pino({ level: 'silent' }), listen: { host: '127.0.0.1', port: 0 } });
  try {
    const url = app.http!.url;
    const { admin } = await app.services.auth.createOrganization({ name: 'Bench attacks', timezone: 'UTC' });
    const idle = pollHealth(url);
    await new Promise((r) => setTimeout(r, 3000));
    const base = await idle.stop();
    console.log(`baseline /healthz (idle, same run): p50 ${ms(pct(base, 50))}, p99 ${ms(pct(base, 99))}, max ${ms(Math.max(...base))}; RSS ${Math.round(process.memoryUsage.rss() / MiB)} MB`);
    console.log('| attack | outcome | time to end | /healthz p50 / p99 / max during | ratio p99 vs idle | peak RSS growth | target |');
    console.log('|---|---|---|---|---|---|---|');
    let worst = { name: '', rss: 0 };
    for (const attack of ATTACKS) {
      const file = await attack.build();
      const before = process.memoryUsage.rss();
      const rss = peakRss();
      const health = pollHealth(url);
      const start = performance.now();
      const job = await waitFinished(app, await upload(url, admin.token, file));
      const took = performance.now() - start;
      const lat = await health.stop();
      const growth = (rss.stop() - before) / MiB;
      if (growth > worst.rss) worst = { name: attack.name, rss: growth };
      const met = pct(lat, 99) < 100 && growth < 1024 ? 'met' : 'MISSED';
      const outcome = `${job.status}: ${(job.error ?? '').replace(/^.*?: /, '').slice(0, 70)}`;
      console.log(`| ${attack.name} (${(file.data.length / MiB).toFixed(2)} MB) | ${outcome} | ${(took / 1000).toFixed(1)} s | ${ms(pct(lat, 50))} / ${ms(pct(lat, 99))} / ${ms(Math.max(...lat))} | ${(pct(lat, 99) / pct(base, 99)).toFixed(1)}× | ${growth.toFixed(0)} MB | ${met} |`);
    }
    const health = pollHealth(url);
    const chunked = await chunkedOverLimit(url, admin.token);
    const lat = await health.stop();
    console.log(`| chunked upload past IMPORT_MAX_BYTES (64 MiB) | HTTP ${chunked.status} after ${(chunked.sent / MiB).toFixed(0)} MiB sent | ${(chunked.ms / 1000).toFixed(2)} s | ${ms(pct(lat, 50))} / ${ms(pct(lat, 99))} / ${ms(Math.max(...lat, 0))} | | | ${chunked.status === 413 ? 'met' : 'MISSED'} |`);
    console.log(`worst bomb: ${worst.name}, peak RSS growth ${worst.rss.toFixed(0)} MB (parser heap cap IMPORT_WORKER_MEMORY_MB=${config.importWorkerMemoryMb})`);
  } finally {
    await app.close();
    await database.drop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();
