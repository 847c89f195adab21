/**
 * Fairness benchmark (issue 9 item 2): while one organization loops the costliest query the limits allow, at
 * high concurrency, does another organization's `contacts(first: 1) { totalCount }` keep p99 < 100 ms?
 *
 *   node --import tsx bench/fairness.ts [--contacts 300000] [--seconds 10] [--attackers 16] [--ungoverned]
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is only used to create and drop a
 * database of the run's own. Two organizations: the attacker's with `--contacts` contacts, the victim's with
 * 1,000. The service runs in a child process (role api, default limits). Printed: the victim's latency alone (the
 * same-run baseline), its latency under attack, their ratio, and met/MISSED for p99 < 100 ms. `--ungoverned` also
 * runs both phases against a server with the limits opened up (no statement timeout, the whole pool per
 * organization): that shows what the limits buy, and the baseline there shows their overhead on an idle server.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBenchDatabase } from './bench-database.ts';

const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const VICTIM_QUERY = '{ contacts(first: 1) { totalCount } }';
/** 7 counted pages of 100: cost 7 × 2,613 = 18,291, just under the limit of 20,000 (8 would be refused). */
const ATTACK_QUERY = `{ ${Array.from({ length: 7 }, (_, i) => `a${i}: contacts(first: 100) { totalCount nodes { id firstName lastName email phone jobTitle } }`).join(' ')} }`;
const TARGET_P99_MS = 100;

const { values: args } = parseArgs({
  options: {
    contacts: { type: 'string', default: '300000' },
    seconds: { type: 'string', default: '10' },
    attackers: { type: 'string', default: '16' },
    ungoverned: { type: 'boolean', default: false },
    serve: { type: 'string' },
    database: { type: 'string' },
  },
});

if (args.serve) await serve(args.serve, args.database!);
else await main();

interface Latencies {
  p50: number;
  p99: number;
  max: number;
  count: number;
  errors: number;
}

interface Attack {
  requests: number;
  refused: Record<string, number>;
}

async function main(): Promise<void> {
  const seconds = Number(args.seconds);
  const attackers = Number(args.attackers);
  const database = await createBenchDatabase('crm_fairness');
  try {
    console.error(`seeding ${args.contacts} contacts for the attacker, 1,000 for the victim…`);
    const tokens = await seed(database.url, Number(args.contacts));
    const governed = await runServer('governed', database.url, seconds, attackers, tokens);
    const ungoverned = args.ungoverned ? await runServer('ungoverned', database.url, seconds, attackers, tokens) : undefined;
    report(governed, ungoverned, { seconds, attackers, contacts: Number(args.contacts) });
  } finally {
    await database.drop();
  }
}

interface Phases {
  alone: Latencies;
  attacked: Latencies;
  attack: Attack;
}

async function runServer(kind: string, databaseUrl: string, seconds: number, attackers: number, tokens: Tokens): Promise<Phases> {
  const { child, url } = await startChild(kind, databaseUrl);
  try {
    const victim = { url: `${url}/graphql`, token: tokens.victim };
    await victimLoop(victim, 2); // warm-up: JIT, pool connections, caches
    const alone = await victimLoop(victim, seconds);
    console.error(`${kind}: victim alone p50 ${alone.p50.toFixed(1)} ms p99 ${alone.p99.toFixed(1)} ms; now ${attackers} attackers…`);
    const stop = { at: Date.now() + (seconds + 2) * 1000 };
    const attack = attackLoop({ url: `${url}/graphql`, token: tokens.attacker }, attackers, stop);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // let the attack fill the pool first
    const attacked = await victimLoop(victim, seconds);
    const attackFigures = await attack;
    return { alone, attacked, attack: attackFigures };
  } finally {
    // Without a statement timeout, attack queries may still run: end the server at once.
    child.kill('SIGKILL');
  }
}

/** The victim: one request at a time, as a user clicking around would, for `seconds`. */
async function victimLoop(target: { url: string; token: string }, seconds: number): Promise<Latencies> {
  const times: number[] = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const started = performance.now();
    const body = await post(target, VICTIM_QUERY);
    times.push(performance.now() - started);
    if (body.errors || typeof body.data?.contacts?.totalCount !== 'number') errors++;
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: times.at(-1)!, count: times.length, errors };
}

/** `concurrency` loops of the costliest accepted query until `stop.at`. */
async function attackLoop(target: { url: string; token: string }, concurrency: number, stop: { at: number }): Promise<Attack> {
  const result: Attack = { requests: 0, refused: {} };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < stop.at) {
        const body = await post(target, ATTACK_QUERY).catch(() => ({ errors: [{ extensions: { code: 'NETWORK' } }] }) as Answer);
        result.requests++;
        const code = body.errors?.[0]?.extensions?.code;
        if (code) result.refused[code] = (result.refused[code] ?? 0) + 1;
      }
    }),
  );
  return result;
}

interface Answer {
  data?: { contacts?: { totalCount?: number } };
  errors?: { extensions?: { code?: string } }[];
}

async function post(target: { url: string; token: string }, query: string): Promise<Answer> {
  const res = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as Answer;
}

function report(governed: Phases, ungoverned: Phases | undefined, setup: { seconds: number; attackers: number; contacts: number }): void {
  const row = (label: string, l: Latencies) =>
    `${label.padEnd(44)} p50 ${l.p50.toFixed(1).padStart(7)} ms   p99 ${l.p99.toFixed(1).padStart(7)} ms   max ${l.max.toFixed(0).padStart(6)} ms   (${l.count} requests, ${l.errors} failed)`;
  const attackRow = (a: Attack) => `attacker: ${a.requests} requests answered, refusals ${JSON.stringify(a.refused)}`;
  console.log(
    `victim: ${VICTIM_QUERY} (1,000 contacts) while the attacker (${setup.contacts} contacts) loops 7 × counted pages of 100 ` +
      `(cost 18,291) at ${setup.attackers} concurrent requests; ${setup.seconds} s per phase; ${os.cpus().length} CPUs; load average ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.log(row('baseline: victim alone (default limits)', governed.alone));
  console.log(row('victim under attack (default limits)', governed.attacked));
  console.log(attackRow(governed.attack));
  if (ungoverned) {
    console.log(row('victim alone, limits opened up', ungoverned.alone));
    console.log(row('victim under attack, limits opened up', ungoverned.attacked));
    console.log(attackRow(ungoverned.attack));
    console.log(`overhead of the limits on an idle server: p50 ×${(governed.alone.p50 / ungoverned.alone.p50).toFixed(2)}`);
  }
  const ratio = governed.attacked.p99 / governed.alone.p99;
  const met = governed.attacked.p99 < TARGET_P99_MS && governed.attacked.errors === 0;
  console.log(`p99 under attack ${governed.attacked.p99.toFixed(1)} ms = ${ratio.toFixed(1)}× the baseline; target p99 < ${TARGET_P99_MS} ms with no failures: ${met ? 'met' : 'MISSED'}`);
  console.log(JSON.stringify({ governed, ungoverned, ratio: Number(ratio.toFixed(2)) }));
}

// ------------------------------------------------------------------------------------------------- seeding

interface Tokens {
  attacker: string;
  victim: string;
}

async function seed(databaseUrl: string, contacts: number): Promise<Tokens> {
  const { createDatabase } = await import('../src/db/client.ts');
  const { runMigrations } = await import('../src/db/migrate.ts');
  const { AuthService } = await import('../src/modules/auth/auth.service.ts');
  const database = createDatabase(databaseUrl, { max: 2 });
  try {
    await runMigrations(database.pool);
    const auth = new AuthService(database.pool, database.db);
    const attacker = await auth.createOrganization({ name: 'Attacker Org', timezone: 'Asia/Singapore' });
    const victim = await auth.createOrganization({ name: 'Victim Org', timezone: 'Asia/Singapore' });
    for (const [org, n] of [[attacker, contacts], [victim, 1_000]] as const) {
      await database.pool.query(
        `insert into contacts (organization_id, owner_id, first_name, last_name, email, phone, job_title)
         select $1, $2, 'First' || g, 'Last' || g, 'c' || g || '@example.com', '+65 6000 ' || lpad(g::text, 4, '0'), 'Title'
         from generate_series(1, $3::int) g`,
        [org.organization.id, org.admin.userId, n],
      );
    }
    await database.pool.query('vacuum analyze contacts');
    return { attacker: attacker.admin.token, victim: victim.admin.token };
  } finally {
    await database.close();
  }
}

// ------------------------------------------------------------------------------------------------- children

async function startChild(kind: string, databaseUrl: string): Promise<{ child: ChildProcess; url: string }> {
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

/** Runs in the child: the service (role api) until killed. `ungoverned` opens the limits up. */
async function serve(kind: string, databaseUrl: string): Promise<void> {
  const { createApp } = await import('../src/app.ts');
  const { loadConfig } = await import('../src/config.ts');
  const { createLogger } = await import('../src/shared/logger.ts');
  const limits = kind === 'ungoverned' ? { GRAPHQL_STATEMENT_TIMEOUT_MS: '0', GRAPHQL_DB_CONCURRENCY_PER_ORG: '20' } : {};
  const config = loadConfig({
    NODE_ENV: 'production',
    APP_SECRET: SECRET,
    LOG_LEVEL: 'warn',
    DATA_DIR: path.join(os.tmpdir(), 'crm-bench'),
    RATE_LIMIT_PER_MINUTE: '0', // a rate limit would hide what the database limits do
    ...limits,
  });
  const app = await createApp({
    config,
    databaseUrl,
    appSecret: SECRET,
    role: 'api',
    log: createLogger('warn', { role: 'api' }),
    listen: { host: '127.0.0.1', port: 0 },
  });
  process.stdout.write(`${JSON.stringify({ url: app.http!.url })}\n`);
}
