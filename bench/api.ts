/**
 * API benchmark (issue 12, target 4): authenticated, organization-scoped queries through the whole service,
 * against a bare Apollo Server 5 + pg server answering the same queries with no auth, in the same run:
 * - `contact(id)`: bare = one SELECT. Target: ≥ 0.8× the bare req/s, and p99 ≤ 1.5× the bare p99.
 * - `contacts(first: 50) { nodes { … owner { … } account { … } } }`: ours batches owner and account with
 *   DataLoader (one query each per request); bare = one SELECT joining users and accounts. Target: ≥ 0.7×.
 *
 *   npm run build && node --import tsx bench/api.ts [--seconds 10] [--connections 20] [--contacts 2000] [--rounds 1]
 *     [--only contact|list] [--source] [--profile]
 *
 * Our server runs as production does: NODE_ENV=production, from the compiled dist/ (`bin/crm-data-admin`'s
 * node flags), RATE_LIMIT_PER_MINUTE=0; `--source` runs src/ through tsx instead (no build needed).
 * BENCH_FLAGS replaces those node flags (e.g. BENCH_FLAGS="" for V8's defaults, as the bare server runs).
 * Beside req/s each line prints the server process's CPU time per request: on a loaded machine req/s also
 * measures the neighbours, CPU per request much less so (its ratio is printed as an indication, not the target).
 * With `--profile` and BENCH_HEAP=1, an allocation profile (sampling, collected objects included) follows each
 * CPU profile.
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
const CONTACT_QUERY = 'query Contact($id: ID!) { contact(id: $id) { id firstName lastName email phone jobTitle createdAt } }';
const LIST_QUERY =
  '{ contacts(first: 50) { nodes { id firstName lastName email createdAt owner { id email name } account { id name domain } } } }';
const ACCOUNTS = 100;
/** bin/crm-data-admin's node flags for an api (none: V8's default heap), so our server's heap behaves as deployed. */
const PRODUCTION_NODE_FLAGS: string[] = (process.env.BENCH_FLAGS ?? '').split(' ').filter(Boolean);

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    contacts: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '1' },
    only: { type: 'string' },
    source: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    serve: { type: 'string' },
    database: { type: 'string' },
    organization: { type: 'string' },
  },
});

if (args.serve) await serve(args.serve, args.database!, args.organization!);
else await main();

// ---------------------------------------------------------------------------------------------- orchestration

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  failures: number;
  /** The server process's CPU time (user + system) per answered request: unlike req/s, barely moved by load from other processes. */
  cpuUs: number;
}

interface Target {
  url: string;
  headers: Record<string, string>;
  child?: ChildProcess;
}

interface Scenario {
  name: 'contact' | 'list';
  title: string;
  body: string;
  /** Throughput ratio to reach; and, when set, the largest p99 as a multiple of the bare p99. */
  minRatio: number;
  maxP99Ratio?: number;
  check(json: unknown): boolean;
}

async function main(): Promise<void> {
  const seconds = Number(args.seconds);
  const connections = Number(args.connections);
  const database = await createBenchDatabase('crm_bench');
  const databaseUrl = database.url;
  const children: ChildProcess[] = [];
  try {
    const { token, contactId, organizationId } = await seed(databaseUrl, Number(args.contacts));
    const bare = await startChild('bare', databaseUrl, organizationId);
    children.push(bare.child);
    const ours = await startChild('ours', databaseUrl, organizationId);
    children.push(ours.child);
    const targets: Record<'bare' | 'ours', Target> = {
      bare: { url: `${bare.url}/graphql`, headers: { 'content-type': 'application/json' }, child: bare.child },
      ours: { url: `${ours.url}/graphql`, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, child: ours.child },
    };
    const scenarios = SCENARIOS(contactId).filter((scenario) => !args.only || scenario.name === args.only);
    for (const scenario of scenarios) {
      for (const [label, target] of Object.entries(targets)) await verify(label, target, scenario);
      console.error(`${scenario.name}: warming up (2 s each), then ${args.rounds} round(s) of ${seconds} s at ${connections} connections…`);
      for (const target of Object.values(targets)) await load(target, scenario.body, 2, connections);
      const results: Record<'bare' | 'ours', Figures[]> = { bare: [], ours: [] };
      for (let round = 0; round < Number(args.rounds); round++) {
        results.bare.push(await load(targets.bare, scenario.body, seconds, connections));
        results.ours.push(await load(targets.ours, scenario.body, seconds, connections));
      }
      report(scenario, results, { seconds, connections, contacts: Number(args.contacts) });
    }
    if (args.profile) {
      // A separate window: the profiler's own overhead must not touch the figures above.
      const dir = path.join(os.tmpdir(), 'crm-bench-profiles');
      await mkdir(dir, { recursive: true });
      for (const scenario of scenarios) {
        for (const [label, child, target] of [['bare', bare.child, targets.bare], ['ours', ours.child, targets.ours]] as const) {
          const file = path.join(dir, `${scenario.name}-${label}-${Date.now()}.cpuprofile`);
          await command(child, `profile ${file}`, 'profiling');
          const figures = await load(target, scenario.body, seconds, connections);
          await command(child, 'stop', 'profiled');
          await summariseProfile(`${scenario.name}, ${label}`, file, figures.total);
          if (process.env.BENCH_HEAP) {
            const heapFile = file.replace('.cpuprofile', '.heapprofile');
            await command(child, `heap ${heapFile}`, 'profiling');
            const heapFigures = await load(target, scenario.body, seconds, connections);
            await command(child, 'heapstop', 'profiled');
            console.log(`heap profile ${heapFile} for ${heapFigures.total} requests`);
          }
        }
      }
    }
  } finally {
    for (const child of children) await stopChild(child);
    await database.drop();
  }
}

function SCENARIOS(contactId: string): Scenario[] {
  type ContactAnswer = { data?: { contact?: { id: string } } };
  type ListAnswer = { data?: { contacts?: { nodes: { owner?: { id: string }; account?: { id: string } }[] } } };
  return [
    {
      name: 'contact',
      title: 'contact(id)',
      body: JSON.stringify({ query: CONTACT_QUERY, variables: { id: contactId } }),
      minRatio: 0.8,
      maxP99Ratio: 1.5,
      check: (json) => (json as ContactAnswer).data?.contact?.id === contactId,
    },
    {
      name: 'list',
      title: 'contacts(first: 50) with owner and account',
      body: JSON.stringify({ query: LIST_QUERY }),
      minRatio: 0.7,
      check: (json) => {
        const nodes = (json as ListAnswer).data?.contacts?.nodes ?? [];
        return nodes.length === 50 && nodes.every((n) => n.owner?.id && n.account?.id);
      },
    },
  ];
}

async function seed(databaseUrl: string, contacts: number): Promise<{ token: string; contactId: string; organizationId: string }> {
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
      const owner = org === organization.id ? admin.userId : other.admin.userId;
      await database.pool.query(
        `insert into accounts (organization_id, owner_id, name, domain)
         select $1, $2, 'Account ' || g, 'a' || g || '.example.com' from generate_series(1, $3::int) g`,
        [org, owner, ACCOUNTS],
      );
      // Each contact at one of the accounts, round robin: a page of 50 names 50 different accounts.
      await database.pool.query(
        `with acc as (select array_agg(id order by id) as ids from accounts where organization_id = $1)
         insert into contacts (organization_id, owner_id, first_name, last_name, email, phone, job_title, account_id)
         select $1, $2, 'First' || g, 'Last' || g, 'c' || g || '@example.com', '+65 6000 ' || lpad(g::text, 4, '0'), 'Title',
                acc.ids[1 + g % array_length(acc.ids, 1)]
         from generate_series(1, $3::int) g, acc`,
        [org, owner, contacts],
      );
    }
    await database.pool.query('analyze');
    const { rows } = await database.pool.query<{ id: string }>(
      'select id from contacts where organization_id = $1 order by created_at, id offset $2 limit 1',
      [organization.id, Math.floor(contacts / 2)],
    );
    return { token: admin.token, contactId: rows[0]!.id, organizationId: organization.id };
  } finally {
    await database.close();
  }
}

async function verify(label: string, target: Target, scenario: Scenario): Promise<void> {
  const res = await fetch(target.url, { method: 'POST', headers: target.headers, body: scenario.body });
  const json = (await res.json()) as unknown;
  if (res.status !== 200 || !scenario.check(json)) {
    throw new Error(`${label} answered ${res.status} ${JSON.stringify(json).slice(0, 500)} to ${scenario.title}`);
  }
}

async function load(target: Target, body: string, seconds: number, connections: number): Promise<Figures> {
  const cpuBefore = target.child ? await cpuOf(target.child) : 0;
  const r = await autocannon({ url: target.url, method: 'POST', headers: target.headers, body, connections, duration: seconds });
  const cpu = target.child ? (await cpuOf(target.child)) - cpuBefore : 0;
  const total = r.requests.total;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total, failures: r.errors + r.timeouts + r.non2xx, cpuUs: cpu / Math.max(total, 1) };
}

async function cpuOf(child: ChildProcess): Promise<number> {
  return Number((await command(child, 'cpu', 'cpu ')).split(' ')[1]);
}

function report(scenario: Scenario, results: Record<'bare' | 'ours', Figures[]>, setup: { seconds: number; connections: number; contacts: number }): void {
  // The median round of each (by throughput): other processes on a shared machine make single rounds noisy.
  const median = (list: Figures[]) => [...list].sort((a, b) => a.rps - b.rps)[Math.floor((list.length - 1) / 2)]!;
  const bare = median(results.bare);
  const ours = median(results.ours);
  const ratio = ours.rps / bare.rps;
  const row = (label: string, f: Figures) =>
    `${label.padEnd(30)} ${f.rps.toFixed(0).padStart(7)} req/s   p50 ${String(f.p50).padStart(3)} ms   p99 ${String(f.p99).padStart(3)} ms   ` +
    `${f.cpuUs.toFixed(0).padStart(5)} µs CPU/req   (${f.total} requests, ${f.failures} failed)`;
  console.log(`\n${scenario.title} at ${setup.connections} connections for ${setup.seconds} s; ${setup.contacts} contacts per organization; ${os.cpus().length} CPUs; load average ${os.loadavg()[0]!.toFixed(1)}`);
  results.bare.forEach((b, i) => {
    console.log(row(`round ${i + 1}: bare Apollo 5 + pg`, b));
    console.log(row(`round ${i + 1}: crm-data-admin`, results.ours[i]!));
  });
  console.log(row('median: bare Apollo 5 + pg', bare));
  console.log(row('median: crm-data-admin', ours));
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  let line = `${scenario.name}: ${ours.rps.toFixed(0)} req/s vs bare ${bare.rps.toFixed(0)} req/s = ${ratio.toFixed(2)}× (target ≥ ${scenario.minRatio}×): ${verdict(ratio >= scenario.minRatio)}`;
  if (scenario.maxP99Ratio !== undefined) {
    const limit = scenario.maxP99Ratio * bare.p99;
    line += `;  p99 ${ours.p99} ms vs bare ${bare.p99} ms (target ≤ ${scenario.maxP99Ratio}× = ${limit.toFixed(1)} ms): ${verdict(ours.p99 <= limit)}`;
  }
  console.log(line);
  // On a loaded machine req/s measures the other processes too; CPU per request is the server's own cost.
  const cpuRatio = bare.cpuUs / ours.cpuUs;
  console.log(`${scenario.name}: CPU per request ${ours.cpuUs.toFixed(0)} µs vs bare ${bare.cpuUs.toFixed(0)} µs = ${cpuRatio.toFixed(2)}× bare's throughput per core (indicative, same target ≥ ${scenario.minRatio}×: ${verdict(cpuRatio >= scenario.minRatio)})`);
  console.log(JSON.stringify({ scenario: scenario.name, bare, ours, ratio: Number(ratio.toFixed(3)), rounds: results }));
}

// ------------------------------------------------------------------------------------------------- children

async function startChild(kind: 'ours' | 'bare', databaseUrl: string, organizationId: string): Promise<{ child: ChildProcess; url: string }> {
  const nodeFlags = kind === 'ours' && !args.source ? PRODUCTION_NODE_FLAGS : [];
  const serveArgs = ['--serve', kind, '--database', databaseUrl, '--organization', organizationId, ...(args.source ? ['--source'] : [])];
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', fileURLToPath(import.meta.url), ...serveArgs], {
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
 * process, `stop` writes it: only the measured load is profiled, not start-up (`heap <file>` / `heapstop`: the
 * same for allocations, with BENCH_HEAP set); `cpu` answers the process's CPU time so far in µs.
 */
async function serve(kind: string, databaseUrl: string, organizationId: string): Promise<void> {
  const server = kind === 'ours' ? await serveOurs(databaseUrl) : await serveBare(databaseUrl, organizationId);
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
      } else if (line === 'cpu') {
        const { user, system } = process.cpuUsage();
        process.stdout.write(`cpu ${user + system}\n`);
      } else if (line.startsWith('heap ')) {
        profileFile = line.slice('heap '.length);
        await session.post('HeapProfiler.enable');
        await session.post('HeapProfiler.startSampling', {
          samplingInterval: 16384,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        } as never);
        process.stdout.write('profiling\n');
      } else if (line === 'heapstop') {
        const { profile } = await session.post('HeapProfiler.stopSampling');
        await writeFile(profileFile, JSON.stringify(profile));
        process.stdout.write('profiled\n');
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
function command(child: ChildProcess, line: string, answer: string): Promise<string> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      if (text.includes(answer)) {
        child.stdout!.off('data', onData);
        resolve(text.slice(text.indexOf(answer)).split('\n')[0]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stdin!.write(`${line}\n`);
  });
}

async function serveOurs(databaseUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  // The compiled build, as bin/crm-data-admin runs it (tsx then only loads this file; dist/ is plain JavaScript).
  const from = (module: string) => (args.source ? `../src/${module}.ts` : `../dist/${module}.js`);
  const { createApp } = (await import(from('app'))) as typeof import('../src/app.ts');
  const { loadConfig } = (await import(from('config'))) as typeof import('../src/config.ts');
  const { createLogger } = (await import(from('shared/logger'))) as typeof import('../src/shared/logger.ts');
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

/**
 * The baseline: what the same queries cost with nothing but Apollo, graphql-js, express and one SELECT each
 * (the list joins owner and account in SQL). No auth: the list reads the bench organization, given at start.
 */
async function serveBare(databaseUrl: string, organizationId: string): Promise<{ url: string; close(): Promise<void> }> {
  const { ApolloServer } = await import('@apollo/server');
  const { ApolloServerPluginLandingPageDisabled } = await import('@apollo/server/plugin/disabled');
  const { expressMiddleware } = await import('@as-integrations/express5');
  const { default: express } = await import('express');
  const http = await import('node:http');
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
  const apollo = new ApolloServer({
    typeDefs: `type Query { contact(id: ID!): Contact contacts(first: Int!): ContactConnection! }
      type Contact { id: ID! firstName: String lastName: String email: String phone: String jobTitle: String createdAt: String!
        owner: User account: Account }
      type ContactConnection { nodes: [Contact!]! }
      type User { id: ID! email: String! name: String }
      type Account { id: ID! name: String! domain: String }`,
    resolvers: {
      Query: {
        contacts: async (_: unknown, { first }: { first: number }) => {
          const { rows } = await pool.query(BARE_LIST_SQL, [organizationId, first]);
          return { nodes: rows.map(bareListNode) };
        },
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

const BARE_LIST_SQL = `
  select c.id, c.first_name, c.last_name, c.email, c.created_at, u.id as owner_id, u.email as owner_email, u.name as owner_name,
         a.id as account_id, a.name as account_name, a.domain as account_domain
  from contacts c
  left join users u on u.id = c.owner_id
  left join accounts a on a.organization_id = c.organization_id and a.id = c.account_id
  where c.organization_id = $1 order by c.created_at, c.id limit $2`;

function bareListNode(row: Record<string, unknown>): Record<string, unknown> {
  return {
    id: row.id,
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    createdAt: (row.created_at as Date).toISOString(),
    owner: row.owner_id ? { id: row.owner_id, email: row.owner_email, name: row.owner_name } : null,
    account: row.account_id ? { id: row.account_id, name: row.account_name, domain: row.account_domain } : null,
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


