/**
 * Retention sweep benchmark (issue 12, target 6): N contacts, all due, swept by the service (batches with
 * FOR UPDATE SKIP LOCKED, AES-256-GCM vault entries, tombstones, one activity event per batch) against the same N
 * contacts of another organization handled by ONE statement doing the same work:
 *   MASK    the same column rewrite (the sweep's own SQL expressions), state and masked_at, one vault row per record
 *           (the originals as JSON, padded by the 29 bytes of the sweep's version + IV + GCM tag, so both write vault
 *           rows of the same size) and one activity row. Left out: the AES-GCM encryption itself, which has no
 *           equal in SQL; the sweep does it in Node on the other core while PostgreSQL rewrites the batch.
 *   DELETE  the records deleted, their vault rows deleted, one tombstone per record and one activity row.
 * Prints per action: sweep time, baseline time, ratio, batches, mean batch time and the mean of the first and last
 * tenth of the batches (a batch query whose cost grows with the position in the table shows here), the longest
 * time a batch held its row locks, and met/MISSED for "≤ 3× the same work" and "longest lock ≤ 1 s".
 * Compare "µs/record" (lock time per record) between two sizes (e.g. 100k and 1M): it must stay flat.
 *
 *   node --import tsx bench/retention.ts [--rows 1000000] [--action mask|delete|both] [--batch N] [--explain]
 *        [--recompute]
 *
 *   --action mask    records due for masking; the MASK pass.
 *   --action delete  records seeded already masked (vault rows of the real size, not decryptable); the DELETE pass.
 *   --action both    (default) mask, then delete what the sweep masked.
 *   --batch N        a fixed batch size (default: the service's, sized by the time each batch takes).
 *   --explain        before each sweep, EXPLAIN (ANALYZE, BUFFERS) of one batch from the middle of the table, in a
 *                    transaction rolled back: the plans that must not grow with the table.
 *   --recompute      also the dates recompute (a policy change) against one UPDATE setting the same dates.
 *
 * Seeding is one INSERT … SELECT generate_series per organization with the dates already set, so 10M rows seed in
 * minutes. Uses BENCH_DATABASE_URL (default the local PostgreSQL) and a database of its own, created and dropped.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import pino from 'pino';
import { createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { MODULES } from '../src/modules/crm/crm.modules.ts';
import { maskSqlExpressions, PERSONAL_FIELDS } from '../src/modules/retention/masking.ts';
import type { SweepBatchReport } from '../src/modules/retention/retention-sweep.service.ts';
import { SWEEP_BATCH, TARGET_LOCK_MS as BATCH_TARGET_MS } from '../src/modules/retention/sweep-batch-size.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { createBenchDatabase } from './bench-database.ts';
import { explainBatches } from './retention-explain.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    batch: { type: 'string' },
    action: { type: 'string', default: 'both' },
    explain: { type: 'boolean', default: false },
    recompute: { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
/** A fixed batch size, or undefined: the service's own (sized by time). */
const BATCH = args.batch === undefined ? undefined : Number(args.batch);
const ACTION = args.action;
if (!Number.isInteger(ROWS) || ROWS < 1) throw new Error('--rows must be a positive integer');
if (BATCH !== undefined && (!Number.isInteger(BATCH) || BATCH < 1)) throw new Error('--batch must be a positive integer');
if (ACTION !== 'mask' && ACTION !== 'delete' && ACTION !== 'both') throw new Error('--action must be mask, delete or both');
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const TARGET_RATIO = 3;
const TARGET_LOCK_MS = 1000;

// Created 2024-01-01 + i seconds; 1 month then MASK, kept 1 year (as in `configure`). 10M records span 116 days.
const CREATED = '2024-01-01T00:00:00Z';
const RETENTION = '1 month';
const KEPT = '1 year';
const MASK_AT = new Date('2024-06-01T00:00:00Z'); // every record due for masking (dates run to late May), none for deletion
const DELETE_AT = new Date('2025-07-01T00:00:00Z'); // every record due for deletion
// The sweep's vault blob: version (1) + IV (12) + GCM tag (16) + the encrypted JSON, as long as the JSON.
const VAULT_OVERHEAD = 29;

type Pass = 'MASK' | 'DELETE';

interface Orgs {
  sweep: string;
  sameWork: string;
}

interface Row {
  phase: string;
  sweepS: number;
  baselineS: number;
  batches: SweepBatchReport[];
}

async function main(): Promise<void> {
  const database = await createBenchDatabase('crm_bench_retention');
  let app: App | undefined;
  try {
    const clock = new ManualClock(MASK_AT);
    const config = loadConfig({ NODE_ENV: 'test', APP_SECRET: SECRET, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0' });
    app = await createApp({ config, databaseUrl: database.url, appSecret: SECRET, clock, headless: true, log: pino({ level: 'warn' }) });
    await run(app, clock);
  } finally {
    await app?.close();
    await database.drop();
  }
}

async function run(app: App, clock: ManualClock): Promise<void> {
  const pool = app.services.pool;
  const org = async (name: string) => (await app.services.auth.createOrganization({ name, timezone: 'UTC' })).organization.id;
  const orgs: Orgs = { sweep: await org('Bench sweep'), sameWork: await org('Bench same-work SQL') };
  const masked = ACTION === 'delete';
  log(`seeding ${ROWS.toLocaleString('en')} ${masked ? 'masked ' : ''}contacts into each of two organizations…`);
  let started = performance.now();
  for (const id of Object.values(orgs)) await seed(pool, id, masked);
  await configure(pool, orgs.sweep);
  await pool.query('vacuum analyze contacts, retention_vault');
  log(`seeded in ${seconds(started).toFixed(1)} s`);
  const rows: Row[] = [];
  if (args.recompute) rows.push(await measureRecompute(app, orgs));
  if (ACTION !== 'delete') {
    clock.set(MASK_AT);
    rows.push(await measure(app, orgs, 'MASK'));
    await pool.query('vacuum analyze contacts, retention_vault');
  }
  if (ACTION !== 'mask') {
    clock.set(DELETE_AT);
    rows.push(await measure(app, orgs, 'DELETE'));
    const left = await pool.query<{ n: number }>('select count(*)::int as n from contacts');
    if (left.rows[0]!.n !== 0) throw new Error(`${left.rows[0]!.n} contacts left after both deletes`);
  }
  print(rows);
}

/** The batched recompute of the dates (what a policy change triggers) vs one UPDATE writing the same dates. */
async function measureRecompute(app: App, orgs: Orgs): Promise<Row> {
  await app.services.pool.query('checkpoint');
  let started = performance.now();
  await app.services.retention.recompute(orgs.sweep, 'CONTACTS');
  const sweepS = seconds(started);
  await app.services.pool.query('checkpoint');
  started = performance.now();
  await app.services.pool.query(
    `update contacts set retention_ends_at = ((created_at at time zone 'UTC') + $2::interval) at time zone 'UTC',
       deletes_at = ((created_at at time zone 'UTC') + $2::interval + $3::interval) at time zone 'UTC', retention_source = 'POLICY'
     where organization_id = $1`,
    [orgs.sameWork, RETENTION, KEPT],
  );
  const row = { phase: 'recompute dates', sweepS, baselineS: seconds(started), batches: [] };
  await app.services.pool.query('vacuum analyze contacts');
  return row;
}

async function measure(app: App, orgs: Orgs, pass: Pass): Promise<Row> {
  const pool = app.services.pool;
  if (args.explain) await explainBatches(pool, { organizationId: orgs.sweep, pass, rows: ROWS, batch: BATCH ?? SWEEP_BATCH, now: pass === 'MASK' ? MASK_AT : DELETE_AT }, log);
  const batches: SweepBatchReport[] = [];
  await pool.query('checkpoint'); // each side starts without the other's dirty pages to write
  let started = performance.now();
  const result = await app.services.retention.sweep({ organizationId: orgs.sweep, ...(BATCH === undefined ? {} : { batchSize: BATCH }), onBatch: (b) => batches.push(b) });
  const sweepS = seconds(started);
  const done = pass === 'MASK' ? result.masked : result.deleted;
  if (done !== ROWS) throw new Error(`sweep ${pass} handled ${done} of ${ROWS} records`);
  await pool.query('checkpoint');
  started = performance.now();
  const same = await pool.query(pass === 'MASK' ? MASK_SAME_WORK : DELETE_SAME_WORK, [orgs.sameWork, pass === 'MASK' ? MASK_AT : DELETE_AT]);
  const baselineS = seconds(started);
  const handled = (same.rows[0] as { n: number } | undefined)?.n;
  if (handled !== ROWS) throw new Error(`one-statement ${pass} handled ${handled} of ${ROWS} records`);
  return { phase: `sweep ${pass}`, sweepS, baselineS, batches: batches.filter((b) => b.pass === pass) };
}

const PERSONAL = PERSONAL_FIELDS.CONTACTS.map((f) => [f, MODULES.CONTACTS.fields[f]!.column] as const);
/** The originals as the sweep keeps them (JSON of the personal fields), and as long as its encrypted blob. */
const VAULT_BLOB = `decode(repeat('00', ${VAULT_OVERHEAD}), 'hex') || convert_to(json_build_object(${PERSONAL.map(([f, c]) => `'${f}', ${c}`).join(', ')})::text, 'UTF8')`;
const ACTIVITY = (pass: Pass, n: string) =>
  `insert into activity_events (organization_id, kind, summary, subject_type, subject_id, data)
   select $1, 'retention.sweep_batch', 'Retention sweep ${pass} ' || ${n} || ' contacts', 'RETENTION_POLICY', 'CONTACTS',
     json_build_object('module', 'CONTACTS', 'pass', '${pass}', 'count', ${n})`;

/** The MASK pass's work in one statement (see the header). */
const MASK_SAME_WORK = `with due as (
    select id, ${PERSONAL.map(([, c]) => c).join(', ')} from contacts
    where organization_id = $1 and retention_state in ('ACTIVE', 'EXPIRED') and retention_ends_at <= $2
      and (deletes_at is null or deletes_at > $2) and not legal_hold
  ), masked as (
    update contacts c set ${Object.entries(maskSqlExpressions('CONTACTS', 'c')).map(([col, e]) => `${col} = ${e}`).join(', ')},
      retention_state = 'MASKED', masked_at = $2
    from due where c.organization_id = $1 and c.id = due.id
    returning due.*
  ), vault as (
    insert into retention_vault (organization_id, module, record_id, ciphertext, created_at)
    select $1, 'CONTACTS', id, ${VAULT_BLOB}, $2 from masked
  ), activity as (${ACTIVITY('MASK', '(select count(*) from masked)')})
  select count(*)::int as n from masked`;

/** The DELETE pass's work in one statement (see the header). */
const DELETE_SAME_WORK = `with gone as (
    delete from contacts where organization_id = $1 and deletes_at <= $2 and not legal_hold returning id
  ), vault as (
    delete from retention_vault v using gone where v.organization_id = $1 and v.module = 'CONTACTS' and v.record_id = gone.id
  ), tomb as (
    insert into tombstones (organization_id, module, record_id, deleted_at, reason)
    select $1, 'CONTACTS', id, $2, 'retention masking period ended' from gone
  ), activity as (${ACTIVITY('DELETE', '(select count(*) from gone)')})
  select count(*)::int as n from gone`;

/** N contacts with their retention dates set by the policy; `masked`: already masked, originals in the vault. */
async function seed(pool: pg.Pool, organizationId: string, masked: boolean): Promise<void> {
  await pool.query(
    `insert into contacts (organization_id, first_name, last_name, email, phone, job_title, address, notes, created_at, updated_at,
       retention_source, retention_ends_at, deletes_at)
     select $1, 'First' || i, 'Last' || i, 'first' || i || '.last@example.com', '+65 9' || lpad(i::text, 7, '0'), 'Engineer',
       i || ' Orchard Road, Singapore', 'Met at trade fair, follow up in Q' || (i % 4 + 1), t, t, 'POLICY',
       t + $4::interval, t + $4::interval + $5::interval
     from generate_series(1, $3::int) as i, lateral (select $2::timestamptz + i * interval '1 second' as t) d`,
    [organizationId, CREATED, ROWS, RETENTION, KEPT],
  );
  if (!masked) return;
  await pool.query(
    `insert into retention_vault (organization_id, module, record_id, ciphertext, created_at)
     select organization_id, 'CONTACTS', id, ${VAULT_BLOB}, $2 from contacts where organization_id = $1`,
    [organizationId, MASK_AT],
  );
  const sets = Object.entries(maskSqlExpressions('CONTACTS')).map(([c, e]) => `${c} = ${e}`).join(', ');
  await pool.query(`update contacts set ${sets}, retention_state = 'MASKED', masked_at = $2 where organization_id = $1`, [organizationId, MASK_AT]);
}

/** Retention on with a MASK policy, written directly (the service would enqueue a recompute no worker runs here). */
async function configure(pool: pg.Pool, organizationId: string): Promise<void> {
  await pool.query(`insert into retention_settings (organization_id, enabled, notice_days) values ($1, true, 0)`, [organizationId]);
  await pool.query(
    `insert into retention_policies (organization_id, module, enabled, basis, retention_value, retention_unit, action, action_value, action_unit)
     values ($1, 'CONTACTS', true, 'CREATED_AT', 1, 'MONTHS', 'MASK', 1, 'YEARS')`,
    [organizationId],
  );
}

function print(rows: Row[]): void {
  const sizing = BATCH === undefined ? `sized by time (from ${SWEEP_BATCH}, aiming at ${BATCH_TARGET_MS} ms)` : `fixed at ${BATCH}`;
  log(`\n${ROWS.toLocaleString('en')} contacts, sweep batches ${sizing}; baseline: the same work in one statement`);
  log('phase              sweep s   baseline s   ratio      batches   records/batch min–max   µs/record   mean batch ms (first / last tenth)   longest lock');
  for (const r of rows) {
    const ratio = r.sweepS / r.baselineS;
    const ms = r.batches.map((b) => b.lockMs);
    const longest = ms.length > 0 ? Math.max(...ms) : Number.NaN;
    const tenth = Math.max(1, Math.floor(ms.length / 10));
    const spread = ms.length > 0 ? `${mean(ms).toFixed(0)} (${mean(ms.slice(0, tenth)).toFixed(0)} / ${mean(ms.slice(-tenth)).toFixed(0)})` : '-';
    log(
      `${r.phase.padEnd(17)} ${r.sweepS.toFixed(2).padStart(8)}   ${r.baselineS.toFixed(2).padStart(10)}   ${ratio.toFixed(2).padStart(5)}×` +
        `   ${String(ms.length || '-').padStart(8)}   ${sizes(r.batches).padStart(21)}   ${perRecord(r.batches).padStart(9)}   ${spread.padStart(34)}   ${Number.isNaN(longest) ? '-' : `${longest.toFixed(0)} ms`}`,
    );
  }
  for (const r of rows.filter((x) => x.batches.length > 0)) {
    const ratio = r.sweepS / r.baselineS;
    const longest = Math.max(...r.batches.map((b) => b.lockMs));
    log(`${r.phase}: ${ratio.toFixed(2)}× the same work in one statement (target ≤ ${TARGET_RATIO}×): ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'}`);
    log(`${r.phase}: longest batch lock ${longest.toFixed(0)} ms (target ≤ ${TARGET_LOCK_MS} ms): ${longest <= TARGET_LOCK_MS ? 'met' : 'MISSED'}`);
  }
}

/** Lock time per record over the pass: flat from 100k to 1M when no batch query grows with the table. */
function perRecord(batches: SweepBatchReport[]): string {
  const records = batches.reduce((n, b) => n + b.count, 0);
  return records === 0 ? '-' : ((batches.reduce((ms, b) => ms + b.lockMs, 0) * 1000) / records).toFixed(0);
}

function sizes(batches: SweepBatchReport[]): string {
  if (batches.length === 0) return '-';
  const counts = batches.map((b) => b.count);
  return `${Math.min(...counts)}–${Math.max(...counts)}`;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

await main();
