/**
 * /healthz latency during each attack of issue 9 (printed, not asserted): a quiet baseline, then, one at a time,
 * an aliased __schema bomb, an aliased totalCount bomb, oversized WebSocket payloads, many WebSocket connections,
 * a request flood past the rate limit, and chunked uploads past IMPORT_MAX_BYTES.
 *
 *   node --import tsx bench/attack-latency.ts [--seconds 5] [--concurrency 16]
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is only used to create and drop a
 * database of the run's own. The service (role api, RATE_LIMIT_PER_MINUTE=600, IMPORT_MAX_BYTES=1 MiB) runs in a
 * child process, so the attackers' CPU is not the server's event loop. For each phase: /healthz p50/p99/max, its
 * ratio to the baseline, and how the server answered the attack (status counts).
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { floodUpload } from '../test/support/upload-flood.ts';
import { createBenchDatabase } from './bench-database.ts';

const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '16' }, only: { type: 'string' }, serve: { type: 'string' },
  },
});


type Counts = Record<string, number>;
type AttackStep = (url: string, token: string, counts: Counts) => Promise<void>;

const SCHEMA_BOMB = `{ ${Array.from({ length: 3000 }, (_, i) => `t${i}: __schema { types { name fields { name } } }`).join(' ')} }`;
const COUNT_BOMB = `{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: contacts { totalCount }`).join(' ')} }`;

const tally = (counts: Counts, key: string | number) => (counts[key] = (counts[key] ?? 0) + 1);

async function post(url: string, token: string, query: string, counts: Counts): Promise<void> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  }).catch(() => undefined);
  tally(counts, res?.status ?? 'network error');
  await res?.arrayBuffer();
}

/** A WebSocket whose connection_init carries `bytes` of payload; resolves with its close code. */
function bigInit(url: string, bytes: number, counts: Counts): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { junk: 'x'.repeat(bytes) } })));
    ws.on('close', (code) => {
      tally(counts, `close ${code}`);
      resolve();
    });
    ws.on('error', () => undefined);
  });
}

/** A chunked upload that keeps sending past the limit until the server answers. */
async function bigUpload(url: string, token: string, counts: Counts): Promise<void> {
  const status = await floodUpload(url, token);
  tally(counts, status === 0 ? 'connection closed' : status);
}

const ATTACKS: [string, AttackStep][] = [
  ['aliased __schema bomb (3,000 aliases)', (url, token, counts) => post(url, token, SCHEMA_BOMB, counts)],
  ['aliased totalCount bomb (10,000 aliases)', (url, token, counts) => post(url, token, COUNT_BOMB, counts)],
  ['connection_init of 8 MB', (url, _token, counts) => bigInit(url, 8 * 1024 * 1024, counts)],
  ['request flood past the rate limit', (url, token, counts) => post(url, token, '{ viewer { id } }', counts)],
  ['chunked upload past IMPORT_MAX_BYTES', (url, token, counts) => bigUpload(url, token, counts)],
];

interface Latencies {
  p50: number;
  p99: number;
  max: number;
  n: number;
  failed: number;
}

async function healthLoop(url: string, until: () => boolean): Promise<Latencies> {
  const times: number[] = [];
  let failed = 0;
  while (!until()) {
    const start = performance.now();
    const res = await fetch(`${url}/healthz`).catch(() => undefined);
    await res?.arrayBuffer();
    if (res?.status === 200) times.push(performance.now() - start);
    else failed++;
    await new Promise((r) => setTimeout(r, 20));
  }
  times.sort((x, y) => x - y);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: times.at(-1) ?? NaN, n: times.length, failed };
}

async function phase(url: string, seconds: number, attack: (stop: () => boolean) => Promise<void>): Promise<Latencies> {
  const end = Date.now() + seconds * 1000;
  const stop = () => Date.now() > end;
  const [latencies] = await Promise.all([healthLoop(url, stop), attack(stop)]);
  return latencies;
}

async function main(): Promise<void> {
  const seconds = Number(args.seconds);
  const concurrency = Number(args.concurrency);
  const database = await createBenchDatabase('crm_attack');
  const { child, url, token } = await startChild(database.url);
  const rows: string[] = [];
  const line = (name: string, l: Latencies, base: Latencies | undefined, counts: Counts) =>
    rows.push(`${name.padEnd(42)} p50 ${l.p50.toFixed(1).padStart(7)} ms  p99 ${l.p99.toFixed(1).padStart(7)} ms  max ${l.max.toFixed(0).padStart(6)} ms  ` +
      `${base ? `p99 ×${(l.p99 / base.p99).toFixed(1)}` : 'baseline'}  (${l.n} probes, ${l.failed} failed)  ${JSON.stringify(counts)}`);
  try {
    await phase(url, 1, async () => undefined); // warm-up
    const baseline = await phase(url, seconds, async () => undefined);
    line('quiet baseline', baseline, undefined, {});
    for (const [name, step] of ATTACKS.filter(([n]) => !args.only || n.includes(args.only!))) {
      const counts: Counts = {};
      const latencies = await phase(url, seconds, async (stop) => {
        await Promise.all(Array.from({ length: concurrency }, async () => {
          while (!stop()) await step(url, token, counts);
        }));
      });
      line(name, latencies, baseline, counts);
    }
    const counts: Counts = {};
    const sockets: WebSocket[] = [];
    const many = await phase(url, seconds, async (stop) => {
      while (!stop() && sockets.length < 2000) {
        const ws = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
        ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
        ws.on('message', (data: Buffer) => tally(counts, JSON.parse(data.toString()).type as string));
        ws.on('close', (code) => tally(counts, `close ${code}`));
        ws.on('error', () => undefined);
        sockets.push(ws);
        await new Promise((r) => setTimeout(r, 2));
      }
    });
    line(`many WebSocket connections (${sockets.length})`, many, baseline, counts);
    for (const ws of sockets) ws.terminate();
    console.log(`/healthz latency under attack (server in a child process; ${concurrency} attackers; ${seconds} s a phase; ${os.cpus().length} CPUs)`);
    for (const row of rows) console.log(row);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await database.drop();
  }
}

async function startChild(databaseUrl: string): Promise<{ child: ChildProcess; url: string; token: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', databaseUrl], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^(\{.*\})$/m.exec(out);
      if (match) resolve({ child, ...(JSON.parse(match[1]!) as { url: string; token: string }) });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** Runs in the child: the service (role api) with a modest rate limit and upload limit, until killed. */
async function serve(databaseUrl: string): Promise<void> {
  const { createApp } = await import('../src/app.ts');
  const { loadConfig } = await import('../src/config.ts');
  const { createLogger } = await import('../src/shared/logger.ts');
  const config = loadConfig({
    NODE_ENV: 'production', APP_SECRET: SECRET, LOG_LEVEL: 'error', DATA_DIR: path.join(os.tmpdir(), 'crm-bench-attack'),
    RATE_LIMIT_PER_MINUTE: '600', IMPORT_MAX_BYTES: String(1024 * 1024),
  });
  const app = await createApp({
    config, databaseUrl, appSecret: SECRET, role: 'api', log: createLogger('error', { role: 'api' }), listen: { host: '127.0.0.1', port: 0 },
  });
  const { admin } = await app.services.auth.createOrganization({ name: 'Attack Org', timezone: 'Asia/Singapore' });
  process.stdout.write(`${JSON.stringify({ url: app.http!.url, token: admin.token })}\n`);
}

if (args.serve) await serve(args.serve);
else await main();
