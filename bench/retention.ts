/**
 * Retention sweep benchmark: N contacts, all due, masked and then deleted by the sweep (batches, FOR UPDATE SKIP
 * LOCKED, vault encryption, tombstones, activity events), against the same rows of other organizations handled
 * in the same run by one plain SQL statement each: the bare UPDATE / DELETE of the records, and the same work in
 * one statement (masking + vault rows, unencrypted; deleting + vault rows + tombstones). Also the date
 * recompute (a policy change) against one plain UPDATE. Prints the ratios and the longest time a batch held
 * its row locks.
 *
 *   node --import tsx bench/retention.ts [--rows 1000000] [--batch 2000]
 *
 * Target: sweep ≤ 3× plain SQL, every batch < 1 s. Uses BENCH_DATABASE_URL (default the local PostgreSQL) and a
 * database of its own, created and dropped.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { maskSqlExpressions } from '../src/modules/retention/masking.ts';
import { SWEEP_BATCH, type SweepBatchReport } from '../src/modules/retention/retention-sweep.service.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { createBenchDatabase } from './bench-database.ts';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, batch: { type: 'string' } } });
const ROWS = Number(args.rows);
const BATCH = args.batch ? Number(args.batch) : SWEEP_BATCH;
if (!Number.isInteger(ROWS) || ROWS < 1) throw new Error('--rows must be a positive integer');
if (!Number.isInteger(BATCH) || BATCH < 1) throw new Error('--batch must be a positive integer');
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

// Created 2024-01-01 + i seconds; 1 month then MASK, kept 1 month (as in `configure`).
const CREATED = '2024-01-01T00:00:00Z';
const RETENTION = '1 month';
const KEPT = '1 month';
// 1M records span 11.6 days: retention dates 1–13 Feb, deletion dates 1–13 Mar.
const MASK_AT = new Date('2024-02-20T00:00:00Z'); // every record due for masking, none for deletion yet
const DELETE_AT = new Date('2024-06-01T00:00:00Z'); // every record due for deletion

interface Row {
  phase: string;
  sweepS: number;
  /** The records' own UPDATE / DELETE only. */
  bareS: number;
  /** The same rows written in one statement: vault entries (unencrypted) and tombstones included. */
  sameWorkS: number;
  batches: number;
  maxLockMs: number;
}

interface Orgs {
  sweep: string;
  bare: string;
  sameWork: string;
}

async function main(): Promise<void> {
  const database = await createBenchDatabase('crm_bench_retention');
  const url = new URL(database.url);
  let app: App | undefined;
  try {
    const clock = new ManualClock(MASK_AT);
    const config = loadConfig({ NODE_ENV: 'test', APP_SECRET: SECRET, LOG_LEVEL: 'warn' });
    app = await createApp({ config, databaseUrl: url.toString(), appSecret: SECRET, clock, headless: true, log: pino({ level: 'warn' }) });
    await run(app, clock);
  } finally {
    await app?.close();
    await database.drop();
  }
}

async function run(app: App, clock: ManualClock): Promise<void> {
  const pool = app.services.pool;
  const org = async (name: string) => (await app.services.auth.createOrganization({ name, timezone: 'UTC' })).organization.id;
  const orgs: Orgs = { sweep: await org('Bench sweep'), bare: await org('Bench bare SQL'), sameWork: await org('Bench same-work SQL') };
  log(`seeding ${ROWS.toLocaleString('en')} contacts into each of three organizations…`);
  for (const id of Object.values(orgs)) await seed(pool, id);
  await configure(pool, orgs.sweep);
  await pool.query('vacuum analyze');
  const rows: Row[] = [];

  // Dates (what a policy change triggers): the batched recompute vs one UPDATE.
  let started = performance.now();
  await app.services.retention.recompute(orgs.sweep, 'CONTACTS');
  const recomputeS = seconds(started);
  const datesSql = `update contacts set retention_ends_at = ((created_at at time zone 'UTC') + $2::interval) at time zone 'UTC',
       deletes_at = ((created_at at time zone 'UTC') + $2::interval + $3::interval) at time zone 'UTC'
     where organization_id = $1`;
  started = performance.now();
  await pool.query(datesSql, [orgs.bare, RETENTION, KEPT]);
  const bareS = seconds(started);
  await pool.query(datesSql, [orgs.sameWork, RETENTION, KEPT]);
  rows.push({ phase: 'recompute dates', sweepS: recomputeS, bareS, sameWorkS: bareS, batches: Math.ceil(ROWS / 5000), maxLockMs: Number.NaN });
  await pool.query('vacuum analyze');

  clock.set(MASK_AT);
  rows.push(await measure(app, orgs, 'MASK', maskSql));
  await pool.query('vacuum analyze');
  clock.set(DELETE_AT);
  rows.push(await measure(app, orgs, 'DELETE', deleteSql));
  const left = await pool.query<{ n: number }>('select count(*)::int as n from contacts');
  if (left.rows[0]!.n !== 0) throw new Error(`${left.rows[0]!.n} contacts left after both deletes`);
  print(rows);
}

type PlainSql = (sameWork: boolean) => string;

async function measure(app: App, orgs: Orgs, pass: 'MASK' | 'DELETE', sql: PlainSql): Promise<Row> {
  const batches: SweepBatchReport[] = [];
  let started = performance.now();
  const result = await app.services.retention.sweep({ organizationId: orgs.sweep, batchSize: BATCH, onBatch: (b) => batches.push(b) });
  const sweepS = seconds(started);
  const done = pass === 'MASK' ? result.masked : result.deleted;
  if (done !== ROWS) throw new Error(`sweep ${pass} handled ${done} of ${ROWS} records`);
  const now = pass === 'MASK' ? MASK_AT : DELETE_AT;
  started = performance.now();
  const bare = await app.services.pool.query(sql(false), [orgs.bare, now]);
  const bareS = seconds(started);
  started = performance.now();
  const same = await app.services.pool.query(sql(true), [orgs.sameWork, now]);
  const sameWorkS = seconds(started);
  if (bare.rowCount !== ROWS || same.rowCount !== ROWS) throw new Error(`plain ${pass}: ${bare.rowCount} and ${same.rowCount} rows`);
  const ofPass = batches.filter((b) => b.pass === pass);
  return { phase: `sweep ${pass}`, sweepS, bareS, sameWorkS, batches: ofPass.length, maxLockMs: Math.max(...ofPass.map((b) => b.lockMs)) };
}

/** What the MASK pass does to a record, as one UPDATE; with the originals copied (unencrypted) to the vault. */
const maskSql: PlainSql = (sameWork) => {
  const sets = Object.entries(maskSqlExpressions('CONTACTS')).map(([c, e]) => `${c} = ${e}`).join(', ');
  const due = `organization_id = $1 and retention_state <> 'MASKED' and retention_ends_at <= $2 and not legal_hold`;
  const vault = `with vault as (
      insert into retention_vault (organization_id, module, record_id, ciphertext, created_at)
      select organization_id, 'CONTACTS', id, convert_to(json_build_object('firstName', first_name, 'lastName', last_name,
        'email', email, 'phone', phone, 'address', address, 'notes', notes)::text, 'UTF8'), $2
      from contacts where ${due}) `;
  return `${sameWork ? vault : ''}update contacts set ${sets}, retention_state = 'MASKED', masked_at = $2 where ${due}`;
};

/** What the DELETE pass does, as one DELETE; with the vault entries and tombstones. */
const deleteSql: PlainSql = (sameWork) => {
  const remove = `delete from contacts where organization_id = $1 and deletes_at <= $2 and not legal_hold`;
  if (!sameWork) return remove;
  return `with gone as (${remove} returning id),
    vault as (delete from retention_vault where organization_id = $1 and module = 'CONTACTS' and record_id in (select id from gone)),
    tomb as (insert into tombstones (organization_id, module, record_id, deleted_at, reason)
             select $1, 'CONTACTS', id, $2, 'retention masking period ended' from gone)
    select id from gone`;
};

async function seed(pool: pg.Pool, organizationId: string): Promise<void> {
  await pool.query(
    `insert into contacts (organization_id, first_name, last_name, email, phone, job_title, address, notes, created_at, updated_at)
     select $1, 'First' || i, 'Last' || i, 'first' || i || '.last@example.com', '+65 9' || lpad(i::text, 7, '0'), 'Engineer',
       i || ' Orchard Road, Singapore', 'Met at trade fair, follow up in Q' || (i % 4 + 1),
       $2::timestamptz + i * interval '1 second', $2::timestamptz + i * interval '1 second'
     from generate_series(1, $3::int) as i`,
    [organizationId, CREATED, ROWS],
  );
}

/** Retention on with a MASK policy, written directly (the service would enqueue a job no worker runs here). */
async function configure(pool: pg.Pool, organizationId: string): Promise<void> {
  await pool.query(`insert into retention_settings (organization_id, enabled, notice_days) values ($1, true, 0)`, [organizationId]);
  await pool.query(
    `insert into retention_policies (organization_id, module, enabled, basis, retention_value, retention_unit, action, action_value, action_unit)
     values ($1, 'CONTACTS', true, 'CREATED_AT', 1, 'MONTHS', 'MASK', 1, 'MONTHS')`,
    [organizationId],
  );
}

function print(rows: Row[]): void {
  log(`\n${ROWS.toLocaleString('en')} contacts, sweep batch ${BATCH} (recompute batch 5000)`);
  log('phase             batched s   bare SQL s   ratio   same-work SQL s   ratio   batches   longest batch lock');
  for (const r of rows) {
    const lock = Number.isNaN(r.maxLockMs) ? '-' : `${r.maxLockMs.toFixed(0)} ms`;
    const ratio = (plain: number) => `${(r.sweepS / plain).toFixed(2).padStart(5)}×`;
    log(
      `${r.phase.padEnd(17)} ${r.sweepS.toFixed(2).padStart(9)}   ${r.bareS.toFixed(2).padStart(10)}   ${ratio(r.bareS)}` +
        `   ${r.sameWorkS.toFixed(2).padStart(15)}   ${ratio(r.sameWorkS)}  ${String(r.batches).padStart(8)}   ${lock.padStart(18)}`,
    );
  }
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

await main();
