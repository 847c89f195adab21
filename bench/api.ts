/**
 * API benchmark: an authenticated, organization-scoped `contact(id)` query through the whole service, against
 * a bare Apollo Server 5 + pg server answering the same query with one SELECT and no auth, in the same run.
 * Target: at least half the bare throughput, and p99 under 10 ms.
 *
 *   node --import tsx bench/api.ts [--seconds 10] [--connections 20] [--contacts 2000] [--rounds 1] [--profile]
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is only used to create and drop a
 * database of the run's own. Each server runs in a child process of its own; autocannon runs here. Figures
 * are the median of `--rounds` (bare and ours alternate). `--profile` then loads each server once more while
 * taking a CPU profile of it (written under the OS temp dir) and prints its self time per request, by package
 * and by function.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { createBenchDatabase } from './bench-database.ts';

const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const QUERY = 'query Contact($id: ID!) { contact(id: $id) { id firstName lastName email phone jobTitle createdAt } }';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    contacts: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    serve: { type: 'string' },
    database: { type: 'string' },
  },
});

if (args.serve) await serve(args.serve, args.database!);
else await main();

// ---------------------------------------------------------------------------------------------- orchestration

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  failures: number;
}

async function main(): Promise<void> {
  const seconds = Number(args.seconds);
  const connections = Number(args.connections);
  const database = await createBenchDatabase('crm_bench');
  const databaseUrl = database.url;
  const children: ChildProcess[] = [];
  try {
    const { token, contactId } = await seed(databaseUrl, Number(args.contacts));
    const bare = await startChild('bare', databaseUrl);
    children.push(bare.child);
    const ours = await startChild('ours', databaseUrl);
    children.push(ours.child);
    const body = JSON.stringify({ query: QUERY, variables: { id: contactId } });
    const targets = {
      bare: { url: `${bare.url}/graphql`, headers: { 'content-type': 'application/json' } },
      ours: { url: `${ours.url}/graphql`, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } },
    };
    for (const [label, target] of Object.entries(targets)) await verify(label, target, body, contactId);

    console.error(`warming up (2 s each), then ${args.rounds} round(s) of ${seconds} s at ${connections} connections…`);
    for (const target of Object.values(targets)) await load(target, body, 2, connections);
    const results: Record<'bare' | 'ours', Figures[]> = { bare: [], ours: [] };
    for (let round = 0; round < Number(args.rounds); round++) {
      results.bare.push(await load(targets.bare, body, seconds, connections));
      results.ours.push(await load(targets.ours, body, seconds, connections));
    }
    report(results, { seconds, connections, contacts: Number(args.contacts) });
    if (args.profile) {
      // A separate window: the profiler's own overhead must not touch the figures above.
      const dir = path.join(os.tmpdir(), 'crm-bench-profiles');
      await mkdir(dir, { recursive: true });
      for (const [label, child, target] of [['bare', bare.child, targets.bare], ['ours', ours.child, targets.ours]] as const) {
        const file = path.join(dir, `${label}-${Date.now()}.cpuprofile`);
        await command(child, `profile ${file}`, 'profiling');
        const figures = await load(target, body, seconds, connections);
        await command(child, 'stop', 'profiled');
        await summariseProfile(label, file, figures.total);
      }
    }
  } finally {
    for (const child of children) await stopChild(child);
    await database.drop();
  }
}

async function seed(databaseUrl: string, contacts: number): Promise<{ token: string; contactId: string }> {
  const { createDatabase } = await import('../src/db/client.ts');
  const { runMigrations } = await import('../src/db/migrate.ts');
  const { AuthService } = await import('../src/modules/auth/auth.service.ts');
  const database = createDatabase(databaseUrl, { max: 2 });
  try {
    await runMigrations(database.pool);
    const auth = new AuthService(database.pool, database.db);
    const { organization, admin } = await auth.createOrganization({ name: 'Bench Org', timezone: 'Asia/Singapore' });
    // A second organization, so organization scoping has something to exclude.
    const other = await auth.createOrganization({ name: 'Other Org' });
    for (const org of [organization.id, other.organization.id]) {
      await database.pool.query(
        `insert into contacts (organization_id, owner_id, first_name, last_name, email, phone, job_title)
         select $1, $2, 'First' || g, 'Last' || g, 'c' || g || '@example.com', '+65 6000 ' || lpad(g::text, 4, '0'), 'Title'
         from generate_series(1, $3::int) g`,
        [org, org === organization.id ? admin.userId : other.admin.userId, contacts],
      );
    }
    await database.pool.query('analyze');
    const { rows } = await database.pool.query<{ id: string }>(
      'select id from contacts where organization_id = $1 order by created_at, id offset $2 limit 1',
      [organization.id, Math.floor(contacts / 2)],
    );
    return { token: admin.token, contactId: rows[0]!.id };
  } finally {
    await database.close();
  }
}

async function verify(label: string, target: { url: string; headers: Record<string, string> }, body: string, id: string): Promise<void> {
  const res = await fetch(target.url, { method: 'POST', headers: target.headers, body });
  const json = (await res.json()) as { data?: { contact?: { id: string } }; errors?: unknown };
  if (res.status !== 200 || json.data?.contact?.id !== id) {
    throw new Error(`${label} answered ${res.status} ${JSON.stringify(json)} instead of the contact`);
  }
}

async function load(target: { url: string; headers: Record<string, string> }, body: string, seconds: number, connections: number): Promise<Figures> {
  const r = await autocannon({ url: target.url, method: 'POST', headers: target.headers, body, connections, duration: seconds });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, failures: r.errors + r.timeouts + r.non2xx };
}

function report(results: Record<'bare' | 'ours', Figures[]>, setup: { seconds: number; connections: number; contacts: number }): void {
  // The median round of each (by throughput): other processes on a shared machine make single rounds noisy.
  const median = (list: Figures[]) => [...list].sort((a, b) => a.rps - b.rps)[Math.floor((list.length - 1) / 2)]!;
  const bare = median(results.bare);
  const ours = median(results.ours);
  const ratio = ours.rps / bare.rps;
  const row = (label: string, f: Figures) =>
    `${label.padEnd(30)} ${f.rps.toFixed(0).padStart(7)} req/s   p50 ${String(f.p50).padStart(3)} ms   p99 ${String(f.p99).padStart(3)} ms   (${f.total} requests, ${f.failures} failed)`;
  console.log(`contact(id) at ${setup.connections} connections for ${setup.seconds} s; ${setup.contacts} contacts per organization; ${os.cpus().length} CPUs; load average ${os.loadavg()[0]!.toFixed(1)}`);
  results.bare.forEach((b, i) => {
    console.log(row(`round ${i + 1}: bare Apollo 5 + pg`, b));
    console.log(row(`round ${i + 1}: crm-data-admin`, results.ours[i]!));
  });
  console.log(row('median: bare Apollo 5 + pg', bare));
  console.log(row('median: crm-data-admin', ours));
  console.log(`ratio ${ratio.toFixed(2)}× (target ≥ 0.50×): ${ratio >= 0.5 ? 'met' : 'MISSED'};  p99 ${ours.p99} ms (target < 10 ms): ${ours.p99 < 10 ? 'met' : 'MISSED'}`);
  console.log(JSON.stringify({ bare, ours, ratio: Number(ratio.toFixed(3)), rounds: results }));
}

// ------------------------------------------------------------------------------------------------- children

async function startChild(kind: 'ours' | 'bare', databaseUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', kind, '--database', databaseUrl], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"([^"]+)"/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
  return { child, url };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin!.end(); // the child stops when its stdin closes
  await exited;
}

/**
 * Runs in the child: one server until stdin closes. `profile <file>` on stdin starts a CPU profile of this
 * process, `stop` writes it: only the measured load is profiled, not start-up.
 */
async function serve(kind: string, databaseUrl: string): Promise<void> {
  const server = kind === 'ours' ? await serveOurs(databaseUrl) : await serveBare(databaseUrl);
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  let profileFile = '';
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    void (async () => {
      if (line.startsWith('profile ')) {
        profileFile = line.slice('profile '.length);
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 200 });
        await session.post('Profiler.start');
        process.stdout.write('profiling\n');
      } else if (line === 'stop') {
        const { profile } = await session.post('Profiler.stop');
        await writeFile(profileFile, JSON.stringify(profile));
        process.stdout.write('profiled\n');
      }
    })();
  });
  lines.on('close', () => void server.close().then(() => process.exit(0)));
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
}

/** Sends a command to a child and waits for its answer line. */
function command(child: ChildProcess, line: string, answer: string): Promise<void> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      if (chunk.toString().includes(answer)) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stdin!.write(`${line}\n`);
  });
}

async function serveOurs(databaseUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const { createApp } = await import('../src/app.ts');
  const { loadConfig } = await import('../src/config.ts');
  const { createLogger } = await import('../src/shared/logger.ts');
  // One token sends thousands of requests a second: the rate limit would measure itself (API.md: 0 for benchmarks).
  const config = loadConfig({ NODE_ENV: 'production', APP_SECRET: SECRET, LOG_LEVEL: 'info', DATA_DIR: path.join(os.tmpdir(), 'crm-bench'), RATE_LIMIT_PER_MINUTE: '0' });
  const app = await createApp({
    config,
    databaseUrl,
    appSecret: SECRET,
    role: 'api',
    log: createLogger('info', { role: 'api' }),
    listen: { host: '127.0.0.1', port: 0 },
  });
  return { url: app.http!.url, close: () => app.close() };
}

/** The baseline: what the same query costs with nothing but Apollo, graphql-js, express and one SELECT. */
async function serveBare(databaseUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const { ApolloServer } = await import('@apollo/server');
  const { ApolloServerPluginLandingPageDisabled } = await import('@apollo/server/plugin/disabled');
  const { expressMiddleware } = await import('@as-integrations/express5');
  const { default: express } = await import('express');
  const http = await import('node:http');
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
  const apollo = new ApolloServer({
    typeDefs: `type Query { contact(id: ID!): Contact }
      type Contact { id: ID! firstName: String lastName: String email: String phone: String jobTitle: String createdAt: String! }`,
    resolvers: {
      Query: {
        contact: async (_: unknown, { id }: { id: string }) => {
          const { rows } = await pool.query(
            `select id, first_name as "firstName", last_name as "lastName", email, phone, job_title as "jobTitle", created_at as "createdAt"
             from contacts where id = $1`,
            [id],
          );
          return rows[0] ? { ...rows[0], createdAt: (rows[0].createdAt as Date).toISOString() } : null;
        },
      },
    },
    plugins: [ApolloServerPluginLandingPageDisabled()],
  });
  await apollo.start();
  const app = express();
  app.use('/graphql', express.json(), expressMiddleware(apollo));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await apollo.stop();
      server.closeAllConnections();
      server.close();
      await pool.end();
    },
  };
}

// ------------------------------------------------------------------------------------------------- profiling

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Self time of a CPU profile by package and by function, in µs of CPU per request: where a request's time goes. */
async function summariseProfile(label: string, file: string, requests: number): Promise<void> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    const { url, functionName, lineNumber } = node.callFrame;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.includes('/src/') ? `src/${url.split('/src/')[1]!.split('/')[0]}` : url ? 'node:internal' : functionName || '(native)');
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const busy = total - (byPackage.get('(idle)') ?? 0);
  const top = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${((100 * v) / busy).toFixed(1).padStart(5)}%  ${(v / requests).toFixed(0).padStart(4)} µs/req  ${k}`)
      .join('\n');
  console.log(
    `\n${label}: CPU profile ${file}\n${(busy / 1e6).toFixed(2)} s busy of ${(total / 1e6).toFixed(2)} s for ${requests} requests = ` +
      `${(busy / requests).toFixed(0)} µs of this process's CPU per request\nself time by package:\n${top(byPackage, 14)}\nself time by function:\n${top(byFunction, 22)}`,
  );
}

// ---------------------------------------------------------------------------------------------------- helpers


