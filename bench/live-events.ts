/**
 * Live events benchmark (issue 12, target 5), against the compiled build run as in production: two
 * `serve --role api` processes and one `serve --role worker` on one fresh database, RATE_LIMIT_PER_MINUTE=0 and
 * WS_MAX_CONNECTIONS_PER_TOKEN raised (the per-token cap of 20 would refuse the bench's sockets; every client
 * here uses the demo ADMIN token).
 *   (a) fan-out: N graphql-ws subscribers (`graphql-ws` client over `ws`, one socket each, alternating between
 *       the two apis, spread over --users ADMIN users of the organization, each with its token; one user's
 *       subscribers share one execution per event in each process) to `backupEvents`; then a manual backup of an organization with --contacts contacts (seeded
 *       with SQL). The bench LISTENs on the events channel itself: every backupEvent NOTIFY of that backup is the
 *       list each subscriber must receive (missing deliveries must be 0). Latency: receipt time − the event's `at`
 *       (set by the worker just before its NOTIFY), p50/p99/max over every delivery. Target: p99 ≤ 250 ms.
 *       Progress events are throttled (jobs/job-progress.ts): a PROGRESS at most every 250 ms, sooner only for a
 *       new module or the last record; between those, one when the percentage moved a whole point or 1 s went by.
 *   (b) idle sockets: --idle WebSockets with `connection_init` acked and no subscription (then, second figure, one
 *       `backupEvents` subscription each) on a third, fresh api process; its VmRSS (/proc/<pid>/status) before and
 *       after, and the RSS per connection. Baseline in the same run: a bare `ws` WebSocketServer (same path and
 *       maxPayload, answering connection_init with connection_ack) in a process of its own, same client.
 * Subscribers run in --client-processes child processes (default 2): their event loops' delays count in the
 * latency, as a real client's would, and their CPU per delivery is printed. Printed next to the latencies,
 * same run: how late the bench's own LISTEN connection hears each NOTIFY (the floor set by the machine's load and
 * PostgreSQL, with no fan-out), and the CPU time the two apis spent during the backup per delivery (/proc/<pid>/stat;
 * steadier than wall-clock latency on a loaded machine).
 *
 *   node --import tsx bench/live-events.ts [--subscribers 1000] [--contacts 200000] [--idle 10000] [--users 10] [--client-processes 2] [--cpu-prof DIR]
 *
 * --cpu-prof DIR: the two apis of (a) write V8 CPU profiles into DIR when they stop (summarize the self time).
 *
 * Needs `npm run build` first (dist/). Uses BENCH_DATABASE_URL (default the local PostgreSQL) and a database of
 * its own, created and dropped.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket, { WebSocketServer } from 'ws';
import { EVENT_CHANNEL } from '../src/events/event-topics.ts';
import { runCompiledCli, startServiceProcess, stopServiceProcess, type ServiceProcess } from '../test/support/service-process.ts';
import { createBenchDatabase } from './bench-database.ts';
import { workerNodeFlags } from './worker-flags.ts';

const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    contacts: { type: 'string', default: '200000' },
    idle: { type: 'string', default: '10000' },
    users: { type: 'string', default: '10' },
    'client-processes': { type: 'string', default: '2' },
    'cpu-prof': { type: 'string' }, // a folder: the two apis of (a) write --cpu-prof profiles there
    phase: { type: 'string' }, // internal: `bare-ws` (the baseline server) or `clients`, in child processes
  },
});
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const SELF = fileURLToPath(import.meta.url);
const TARGET_P99_MS = 250;
/** The kinds the target is about (PENDING is delivered and checked too, but sent by the api, not the worker). */
const COUNTED = ['STARTED', 'PROGRESS', 'COMPLETED'];
const QUERY = 'subscription { backupEvents { kind at backup { id status progress { percent processedRecords totalRecords module } } } }';

interface Received {
  kind: string;
  at: string;
  backupId: string;
  latencyMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(check: () => Promise<T | false | undefined> | T | false | undefined, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** CPU time (user + system) a process has used so far, in ms (/proc/<pid>/stat, clock ticks of 10 ms). */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await fs.readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssKb(pid: number): Promise<number> {
  return fs.readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmRSS:\s+(\d+)/.exec(s)![1]));
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function gql<T>(url: string, token: string, query: string): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
  return body.data;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

// ---------------------------------------------------------------------------------------------------------------
// (a) fan-out

function subscriber(url: string, token: string, received: Received[]): { client: Client; done: Promise<void> } {
  const client = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0, lazy: false });
  const done = new Promise<void>((resolve, reject) => {
    client.subscribe<{ backupEvents: { kind: string; at: string; backup: { id: string } } }>(
      { query: QUERY },
      {
        next: (msg) => {
          const now = Date.now();
          const e = msg.data?.backupEvents;
          if (!e) return reject(new Error(`subscription error: ${JSON.stringify(msg.errors)}`));
          received.push({ kind: e.kind, at: e.at, backupId: e.backup.id, latencyMs: now - Date.parse(e.at) });
          if (e.kind === 'COMPLETED' || e.kind === 'FAILED') resolve();
        },
        error: reject,
        complete: () => undefined,
      },
    );
  });
  done.catch(() => undefined); // awaited later; a failure before then must not crash the bench unreported
  return { client, done };
}

/** Every backupEvent NOTIFY, straight from PostgreSQL: what each subscriber must receive. */
type Heard = { kind: string; at: string; backupId: string; latencyMs: number };

async function listenToEvents(url: string): Promise<{ events: Heard[]; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const events: Heard[] = [];
  client.on('notification', (msg) => {
    const now = Date.now();
    const m = JSON.parse(msg.payload ?? '{}') as { t?: string; d?: { kind: string; at: string; backupId: string } };
    if (m.t?.startsWith('backupEvent:') && m.d) events.push({ ...m.d, latencyMs: now - Date.parse(m.d.at) });
  });
  await client.query(`LISTEN ${EVENT_CHANNEL}`);
  return { events, close: () => client.end() };
}

/** One client process's share: its subscribers, each of a given api and token. */
interface ClientsJob {
  specs: { url: string; token: string }[];
}
type ClientsReport = { inbox: Received[][]; cpuMs: number } | { error: string };

function nextMessage<T>(): Promise<T> {
  return new Promise((resolve) => process.once('message', (m) => resolve(m as T)));
}

/** Child process: opens its subscribers, then (on 'measure') reports what each received once all saw COMPLETED. */
async function clientsPhase(): Promise<void> {
  const job = await nextMessage<ClientsJob>();
  const inbox = job.specs.map(() => [] as Received[]);
  const subs = job.specs.map((spec, i) => subscriber(spec.url, spec.token, inbox[i]!));
  await nextMessage<'measure'>();
  const cpu = process.cpuUsage();
  let report: ClientsReport;
  try {
    await Promise.all(subs.map((sub) => sub.done));
    const used = process.cpuUsage(cpu);
    report = { inbox, cpuMs: (used.user + used.system) / 1000 };
  } catch (error) {
    report = { error: String(error instanceof Error ? error.message : JSON.stringify(error)) };
  }
  await Promise.all(subs.map((sub) => sub.client.dispose()));
  process.send!(report, () => process.exit(0));
}

function startClients(count: number, specs: ClientsJob['specs']) {
  const children = Array.from({ length: count }, (_, k) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--phase', 'clients'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const report = new Promise<ClientsReport>((resolve, reject) => {
      child.once('message', (m) => resolve(m as ClientsReport));
      child.once('exit', (code) => reject(new Error(`client process exited with ${code}`)));
    });
    report.catch(() => undefined);
    child.send({ specs: specs.filter((_, i) => i % count === k) } satisfies ClientsJob);
    return { child, report };
  });
  return {
    measure: () => children.forEach((c) => c.child.send('measure')),
    reports: () => Promise.all(children.map((c) => c.report)),
    kill: () => children.forEach((c) => c.child.exitCode === null && c.child.kill('SIGKILL')),
  };
}

async function fanOut(apis: ServiceProcess[], dbUrl: string, tokens: string[], n: number, clientProcesses: number): Promise<boolean> {
  const admin = tokens[0]!;
  // Subscriber i: api i mod 2, user (token) ⌊i / 2⌋ mod U, so each api has every user's subscribers.
  const specs = Array.from({ length: n }, (_, i) => ({ url: apis[i % apis.length]!.url, token: tokens[Math.floor(i / apis.length) % tokens.length]! }));
  const clients = startClients(clientProcesses, specs);
  try {
    return await measureFanOut(apis, dbUrl, admin, n, clients, tokens.length);
  } finally {
    clients.kill();
  }
}

async function measureFanOut(
  apis: ServiceProcess[],
  dbUrl: string,
  admin: string,
  n: number,
  clients: ReturnType<typeof startClients>,
  users: number,
): Promise<boolean> {
  // Live once each api counts its operations (its /metrics), so no event can be missed for a late subscription.
  const share = (i: number) => Math.floor(n / apis.length) + (i < n % apis.length ? 1 : 0);
  await until(async () => {
    const counts = await Promise.all(apis.map((a) => metric(a.url, 'crm_data_admin_websocket_operations_active')));
    return counts.every((c, i) => c === share(i));
  }, `${n} subscriptions`, 120_000);
  const truth = await listenToEvents(dbUrl);
  const cpuBefore = await Promise.all(apis.map((a) => cpuMs(a.child.pid!)));
  clients.measure();
  const t0 = Date.now();
  const { startManualBackup } = await gql<{ startManualBackup: { id: string } }>(apis[0]!.url, admin, 'mutation { startManualBackup { id } }');
  const reports = await Promise.race([clients.reports(), sleep(300_000).then(() => Promise.reject(new Error('backup events did not all arrive')))]);
  const wallMs = Date.now() - t0;
  const cpuAfter = await Promise.all(apis.map((a) => cpuMs(a.child.pid!)));
  const failed = reports.find((r) => 'error' in r);
  if (failed) throw new Error(`a subscriber failed: ${failed.error}`);
  const inbox = reports.flatMap((r) => ('inbox' in r ? r.inbox : []));
  const clientCpuMs = reports.reduce((sum, r) => sum + ('cpuMs' in r ? r.cpuMs : 0), 0);
  await sleep(500); // a straggler NOTIFY would show as missing rather than be ignored
  await truth.close();

  const expected = truth.events.filter((e) => e.backupId === startManualBackup.id);
  const key = (e: { kind: string; at: string }) => `${e.kind}@${e.at}`;
  let missing = 0;
  let extra = 0;
  const latencies: number[] = [];
  for (const received of inbox) {
    const mine = received.filter((e) => e.backupId === startManualBackup.id);
    const left = new Map<string, number>();
    for (const e of expected) left.set(key(e), (left.get(key(e)) ?? 0) + 1);
    for (const e of mine) {
      const k = key(e);
      if ((left.get(k) ?? 0) > 0) left.set(k, left.get(k)! - 1);
      else extra += 1;
      if (COUNTED.includes(e.kind)) latencies.push(e.latencyMs);
    }
    for (const count of left.values()) missing += count;
  }
  const counted = expected.filter((e) => COUNTED.includes(e.kind));
  const progressTimes = expected.filter((e) => e.kind === 'PROGRESS').map((e) => Date.parse(e.at));
  const gaps = progressTimes.slice(1).map((t, i) => t - progressTimes[i]!);
  latencies.sort((a, b) => a - b);
  const p99 = percentile(latencies, 99);
  const floor = expected.filter((e) => COUNTED.includes(e.kind)).map((e) => e.latencyMs).sort((a, b) => a - b);
  const apiCpuMs = cpuAfter.reduce((sum, c, i) => sum + c - cpuBefore[i]!, 0);
  const met = missing === 0 && p99 <= TARGET_P99_MS;
  console.log(`(a) ${n} subscribers of ${users} ADMIN users over ${apis.length} api processes; backup took ${(wallMs / 1000).toFixed(1)} s (mutation → last COMPLETED)`);
  console.log(`    events of the backup (NOTIFY): ${expected.length} (${counted.length} STARTED/PROGRESS/COMPLETED, ${progressTimes.length} PROGRESS; ` +
    `gap between PROGRESS: min ${gaps.length ? Math.min(...gaps) : '-'} ms, median ${gaps.length ? percentile([...gaps].sort((a, b) => a - b), 50) : '-'} ms)`);
  console.log(`    deliveries of STARTED/PROGRESS/COMPLETED: ${latencies.length} of ${n * counted.length}; missing ${missing}, unexpected ${extra}`);
  console.log(`    latency at → receipt: p50 ${percentile(latencies, 50)} ms, p99 ${p99} ms, max ${latencies.at(-1)} ms ` +
    `(target p99 ≤ ${TARGET_P99_MS} ms, missing = 0)   ${met ? 'met' : 'MISSED'}`);
  console.log(`    baseline, same run: the bench's own LISTEN connection hears the NOTIFY at p50 ${percentile(floor, 50)} ms, ` +
    `p99 ${percentile(floor, 99)} ms, max ${floor.at(-1)} ms after \`at\` (machine load and PostgreSQL, no fan-out)`);
  const perDelivery = (ms: number) => `${((ms * 1000) / Math.max(1, latencies.length)).toFixed(0)} µs per delivery`;
  console.log(`    CPU during the backup (user+sys): both apis ${apiCpuMs} ms = ${perDelivery(apiCpuMs)}; ` +
    `the ${n} clients (${reports.length} process(es)) ${clientCpuMs.toFixed(0)} ms = ${perDelivery(clientCpuMs)}`);
  return met;
}

// ---------------------------------------------------------------------------------------------------------------
// (b) idle sockets

/** Opens `n` sockets, each sending connection_init and waiting for the ack (and optionally one subscription). */
async function openIdle(url: string, n: number, token: string): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  const BATCH = 200; // a bounded number of handshakes in flight
  for (let i = 0; i < n; i += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, n - i) }, () =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
          sockets.push(ws);
          ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
          ws.once('message', (data) => ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack' ? resolve() : reject(new Error(String(data)))));
          ws.once('error', reject);
        }),
      ),
    );
  }
  return sockets;
}

function subscribeAll(sockets: WebSocket[]): void {
  sockets.forEach((ws, i) => ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: QUERY } })));
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(sockets.map((ws) => new Promise<void>((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve() : (ws.once('close', () => resolve()), ws.close())))));
}

/** The baseline server: `ws` alone, as the service configures it, acking connection_init and nothing else. */
async function bareWsPhase(): Promise<void> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: 1024 * 1024 });
  wss.on('connection', (ws) => ws.on('message', (data) => {
    if ((JSON.parse(String(data)) as { type: string }).type === 'connection_init') ws.send('{"type":"connection_ack"}');
  }));
  server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${(server.address() as { port: number }).port}\n`));
}

async function startBareWs(): Promise<{ pid: number; url: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--phase', 'bare-ws'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  return { pid: child.pid!, url, stop: () => void child.kill('SIGTERM') };
}

async function measureIdle(label: string, pid: number, url: string, n: number, token: string, subscribe: boolean): Promise<number[]> {
  await sleep(1000);
  const before = await rssKb(pid);
  const sockets = await openIdle(url, n, token);
  await sleep(2000);
  const acked = await rssKb(pid);
  const figures = [(acked - before) / n];
  let line = `${label.padEnd(26)} RSS ${(before / 1024).toFixed(0)} MB → ${(acked / 1024).toFixed(0)} MB with ${n} acked sockets: ${figures[0]!.toFixed(1)} KB/connection`;
  if (subscribe) {
    subscribeAll(sockets);
    await until(async () => (await metric(url, 'crm_data_admin_websocket_operations_active')) === n, `${n} idle subscriptions`, 120_000);
    await sleep(2000);
    const subscribed = await rssKb(pid);
    figures.push((subscribed - before) / n);
    line += `; → ${(subscribed / 1024).toFixed(0)} MB with one subscription each: ${figures[1]!.toFixed(1)} KB/connection`;
  }
  console.log(line);
  await closeAll(sockets);
  return figures;
}

async function idle(env: Record<string, string>, admin: string, n: number): Promise<void> {
  const api = await startServiceProcess('api', env);
  const bare = await startBareWs();
  try {
    console.log(`(b) ${n} idle graphql-ws connections on one api process (pid ${api.child.pid}) vs a bare ws server (pid ${bare.pid})`);
    const [service] = await measureIdle('api process', api.child.pid!, api.url, n, admin, true);
    const [baseline] = await measureIdle('baseline: bare ws server', bare.pid, bare.url, n, admin, false);
    console.log(`    ratio (acked, no subscription): ${(service! / baseline!).toFixed(2)}× the bare ws server's RSS per connection`);
  } finally {
    bare.stop();
    await stopServiceProcess(api);
  }
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const n = Number(args.subscribers);
  const database = await createBenchDatabase('crm_bench_live');
  const storage = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-live-'));
  // NODE_OPTIONS: the V8 flags bin/crm-data-admin passes: none for an api, a capped young generation for a worker.
  const env = {
    DATABASE_URL: database.url, APP_SECRET: SECRET, STORAGE_DIR: storage, DATA_DIR: storage,
    RATE_LIMIT_PER_MINUTE: '0', WS_MAX_CONNECTIONS_PER_TOKEN: '100000', NODE_OPTIONS: '',
  };
  const workerEnv = { ...env, NODE_OPTIONS: workerNodeFlags().join(' ') };
  const procs: ServiceProcess[] = [];
  try {
    // The first api on the empty database creates the demo organization and prints its ADMIN token.
    const profiled = args['cpu-prof'] ? { ...env, NODE_OPTIONS: `${env.NODE_OPTIONS} --cpu-prof --cpu-prof-dir=${path.resolve(args['cpu-prof'])}` } : env;
    procs.push(await startServiceProcess('api', profiled));
    procs.push(...(await Promise.all([startServiceProcess('api', profiled), startServiceProcess('worker', workerEnv)])));
    const admin = /ADMIN token: (\S+)/.exec(procs[0]!.stdout())![1]!;
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    const { rows } = await pool.query<{ id: string }>('select id from organizations');
    await pool.query(
      `insert into contacts (organization_id, first_name, last_name, email, phone, job_title, notes)
       select $1, 'First' || g, 'Last' || g, 'contact' || g || '@example.com', '+65 6000 ' || lpad((g % 10000)::text, 4, '0'), 'Engineer', 'note ' || g
       from generate_series(1, $2::int) g`,
      [rows[0]!.id, Number(args.contacts)],
    );
    await pool.query('analyze contacts');
    await pool.end();
    // More ADMIN users of the organization: subscribers of one user share an execution per event (ws.ts), so the
    // bench spreads them over --users users, as many people watching one backup would be.
    const more = await Promise.all(Array.from({ length: Number(args.users) - 1 }, (_, i) =>
      runCompiledCli(['user', 'create', '--org', rows[0]!.id, '--email', `bench-admin-${i}@example.com`, '--role', 'ADMIN'], { DATABASE_URL: database.url, APP_SECRET: SECRET })
        .then((r) => (JSON.parse(r.stdout) as { token: string }).token)));
    await fanOut(procs.slice(0, 2), database.url, [admin, ...more], n, Number(args['client-processes']));
    for (const p of procs.splice(0)) await stopServiceProcess(p);
    await idle(env, admin, Number(args.idle));
  } finally {
    await Promise.all(procs.map((p) => stopServiceProcess(p)));
    await database.drop();
    await fs.rm(storage, { recursive: true, force: true });
  }
}

if (args.phase === 'bare-ws') await bareWsPhase();
else if (args.phase === 'clients') await clientsPhase();
else {
  await main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? error.stack : error);
      process.exit(1);
    },
  );
}
