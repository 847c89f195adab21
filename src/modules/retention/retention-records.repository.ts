/**
 * SQL over the retention columns of leads and contacts: set-based date computation (recompute batches, the
 * write hooks, the preview) and single-record changes (retention date, legal hold, unmask).
 *
 * All date arithmetic is `((ts AT TIME ZONE 'UTC') + interval) AT TIME ZONE 'UTC'`, i.e. calendar arithmetic in
 * UTC whatever the session's TimeZone, which is exactly `addPeriod` in retention-dates.ts (tested side by side).
 */
import { MODULES } from '../crm/crm.modules.ts';
import { PERSONAL_FIELDS, type PersonalField } from './masking.ts';
import { periodToPgInterval, type RetentionModule, type RetentionRules } from './retention-dates.ts';
import type { Queryable } from './retention.repository.ts';

export type RetentionStateName = 'ACTIVE' | 'EXPIRED' | 'MASKED';

export interface RecordRetentionRow {
  id: string;
  ownerId: string | null;
  retentionState: RetentionStateName;
  retentionEndsAt: Date | null;
  deletesAt: Date | null;
  maskedAt: Date | null;
  legalHold: boolean;
}

const RETENTION_RETURNING = `id, owner_id as "ownerId", retention_state as "retentionState",
  retention_ends_at as "retentionEndsAt", deletes_at as "deletesAt", masked_at as "maskedAt", legal_hold as "legalHold"`;

// Fixed sets, never client text: safe to place in SQL.
const BASIS_COLUMN = { CREATED_AT: 'created_at', UPDATED_AT: 'updated_at' } as const;

export function utcPlus(timestamp: string, interval: string): string {
  return `((${timestamp} AT TIME ZONE 'UTC') + ${interval}) AT TIME ZONE 'UTC'`;
}

/**
 * The retention date a policy gives the row `t`: basis + retention period. A MASKED row keeps its own (masking
 * already happened on it; after the switch was off it has none, and the day it was masked stands in).
 */
function retentionDateSql(rules: RetentionRules, intervalParam: string): string {
  const computed = utcPlus(`t.${BASIS_COLUMN[rules.basis]}`, `${intervalParam}::interval`);
  return `CASE WHEN t.retention_state = 'MASKED' THEN coalesce(t.retention_ends_at, t.masked_at, ${computed}) ELSE ${computed} END`;
}

/**
 * Where a keyset page starts: after this (created_at, id). Pages follow the (organization_id, created_at, id)
 * index: no ties (id breaks them), and creation order is close to the rows' physical order, so a batch touches
 * few pages (uuid order would scatter every batch over the whole table).
 */
export interface Cursor {
  createdAt: Date | '-infinity';
  id: string;
}
export const FIRST_PAGE: Cursor = { createdAt: '-infinity', id: '00000000-0000-0000-0000-000000000000' };
/** The keyset condition over `t`'s columns; $2 and $3 are the cursor. */
export const AFTER_CURSOR = '(created_at, id) > ($2::timestamptz, $3::uuid)';

/** The last of `rows` in keyset order: the next page's cursor. */
export function cursorAfter(rows: readonly { id: string; createdAt: Date }[]): Cursor {
  let last = FIRST_PAGE;
  for (const row of rows) if (comesAfter(row, last)) last = { createdAt: row.createdAt, id: row.id };
  return last;
}

// uuids order as their lower-case text does (PostgreSQL compares the bytes; pg returns canonical lower case).
function comesAfter(row: { id: string; createdAt: Date }, cursor: Cursor): boolean {
  if (cursor.createdAt === '-infinity') return true;
  const diff = row.createdAt.getTime() - cursor.createdAt.getTime();
  return diff > 0 || (diff === 0 && row.id > cursor.id);
}

/**
 * `batch(id, created_at)` CTE bodies: a keyset page of the organization's records, or one record. Both take the
 * same parameters ($1 organization, $2/$3 cursor or id, $4 limit) so the statements around them stay the same;
 * PostgreSQL refuses a parameter it cannot type, hence conditions like `$4::int > 0` that only name one.
 */
const KEYSET_BATCH = (table: string) =>
  `select id, created_at from ${table} where organization_id = $1 and ${AFTER_CURSOR} order by created_at, id limit $4`;
const ONE_RECORD = (table: string) =>
  `select id, created_at from ${table} where organization_id = $1 and id = $3::uuid and $2::timestamptz is null and $4::int > 0`;

export interface BatchOutcome {
  /** Where the next page starts. */
  next: Cursor;
  scanned: number;
  changed: number;
}

/**
 * Brings the records of one page to the rules: dates from `rules` (or none when `rules` is undefined: the switch
 * or the policy is off), and EXPIRED records whose retention date is now in the future back to ACTIVE. Rows that
 * already match are not written. Masked records stay masked.
 */
export async function applyRules(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  rules: RetentionRules | undefined,
  page: { after: Cursor; limit: number } | { id: string },
  now: Date,
): Promise<BatchOutcome> {
  const table = MODULES[module].table;
  const batch = 'after' in page ? KEYSET_BATCH(table) : ONE_RECORD(table);
  const params: unknown[] =
    'after' in page
      ? [organizationId, page.after.createdAt, page.after.id, page.limit, now]
      : [organizationId, null, page.id, 1, now];
  let update: string;
  if (rules) {
    params.push(periodToPgInterval(rules.retentionPeriod), periodToPgInterval(rules.actionPeriod));
    update = `calc as (
        select t.id, ${retentionDateSql(rules, '$6')} as ret from ${table} t join batch b on b.id = t.id
      ), next as (
        select c.id, c.ret, ${utcPlus('c.ret', '$7::interval')} as del from calc c
      ), upd as (
        update ${table} t set retention_ends_at = n.ret, deletes_at = n.del,
          retention_state = CASE WHEN t.retention_state = 'EXPIRED' AND n.ret > $5::timestamptz THEN 'ACTIVE' ELSE t.retention_state END
        from next n
        where t.id = n.id and t.organization_id = $1
          and (t.retention_ends_at is distinct from n.ret or t.deletes_at is distinct from n.del
               or (t.retention_state = 'EXPIRED' and n.ret > $5::timestamptz))
        returning 1)`;
  } else {
    update = `upd as (
        update ${table} t set retention_ends_at = null, deletes_at = null,
          retention_state = CASE WHEN t.retention_state = 'EXPIRED' THEN 'ACTIVE' ELSE t.retention_state END
        from batch b
        where t.id = b.id and t.organization_id = $1 and $5::timestamptz is not null
          and (t.retention_ends_at is not null or t.deletes_at is not null or t.retention_state = 'EXPIRED')
        returning 1)`;
  }
  const { rows } = await db.query<{ lastId: string | null; lastCreatedAt: Date | null; scanned: number; changed: number }>(
    `with batch as (${batch}), last as (select id, created_at from batch order by created_at desc, id desc limit 1), ${update}
     select (select id from last) as "lastId", (select created_at from last) as "lastCreatedAt",
            (select count(*) from batch)::int as scanned, (select count(*) from upd)::int as changed`,
    params,
  );
  const { lastId, lastCreatedAt, scanned, changed } = rows[0]!;
  const next = lastId && lastCreatedAt ? { id: lastId, createdAt: lastCreatedAt } : 'after' in page ? page.after : FIRST_PAGE;
  return { next, scanned, changed };
}

export interface PreviewCounts {
  activeRecords: number;
  expireNow: number;
  maskNow: number;
  maskSoon: number;
  deleteNow: number;
  deleteSoon: number;
}

/**
 * What a sweep would do to the module if `rules` were in force: the dates a recompute would give each record,
 * then the sweep's own conditions (legal holds exempt). Read-only. `until` bounds "soon" (now < date ≤ until).
 */
export async function previewCounts(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  rules: RetentionRules,
  now: Date,
  until: Date,
): Promise<PreviewCounts> {
  const table = MODULES[module].table;
  const { rows } = await db.query<PreviewCounts>(
    `with calc as (
       select t.retention_state as state, t.legal_hold as hold, ${retentionDateSql(rules, '$3')} as ret
       from ${table} t where t.organization_id = $1
     ), d as (
       select hold, ret, ${utcPlus('ret', '$4::interval')} as del,
              CASE WHEN state = 'EXPIRED' AND ret > $2::timestamptz THEN 'ACTIVE' ELSE state END as st
       from calc
     )
     select count(*) filter (where st = 'ACTIVE' and (hold or ret > $2))::int as "activeRecords",
            count(*) filter (where not hold and st = 'ACTIVE' and ret <= $2)::int as "expireNow",
            count(*) filter (where not hold and st <> 'MASKED' and ret <= $2 and del > $2)::int as "maskNow",
            count(*) filter (where not hold and st <> 'MASKED' and ret > $2 and ret <= $5)::int as "maskSoon",
            count(*) filter (where not hold and del <= $2)::int as "deleteNow",
            count(*) filter (where not hold and del > $2 and del <= $5)::int as "deleteSoon"
     from d`,
    [organizationId, now, periodToPgInterval(rules.retentionPeriod), periodToPgInterval(rules.actionPeriod), until],
  );
  return rows[0]!;
}

/** Refreshes the planner's statistics of the module's table (after its dates changed wholesale). */
export async function analyze(db: Queryable, module: RetentionModule): Promise<void> {
  await db.query(`analyze ${MODULES[module].table}`);
}

/** Whether any record of the module carries dates or is EXPIRED (i.e. whether clearing has anything to do). */
export async function hasRetentionData(db: Queryable, module: RetentionModule, organizationId: string): Promise<boolean> {
  const table = MODULES[module].table;
  const { rows } = await db.query<{ found: boolean }>(
    `select exists (select 1 from ${table} where organization_id = $1 and retention_ends_at is not null)
         or exists (select 1 from ${table} where organization_id = $1 and deletes_at is not null)
         or exists (select 1 from ${table} where organization_id = $1 and retention_state = 'EXPIRED') as found`,
    [organizationId],
  );
  return rows[0]?.found ?? false;
}

/** Records that are not MASKED: what stays ACTIVE when no policy is in force (EXPIRED ones go back to ACTIVE). */
export async function countUnmasked(db: Queryable, module: RetentionModule, organizationId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from ${MODULES[module].table} where organization_id = $1 and retention_state <> 'MASKED'`,
    [organizationId],
  );
  return rows[0]?.n ?? 0;
}

export async function findRecordRetention(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  id: string,
  lock = false,
): Promise<RecordRetentionRow | undefined> {
  const { rows } = await db.query<RecordRetentionRow>(
    `select ${RETENTION_RETURNING} from ${MODULES[module].table} where organization_id = $1 and id = $2${lock ? ' for no key update' : ''}`,
    [organizationId, id],
  );
  return rows[0];
}

export async function setRecordRetention(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  id: string,
  change: { retentionEndsAt: Date; deletesAt: Date; state: RetentionStateName },
): Promise<RecordRetentionRow> {
  const { rows } = await db.query<RecordRetentionRow>(
    `update ${MODULES[module].table} set retention_ends_at = $3, deletes_at = $4, retention_state = $5
     where organization_id = $1 and id = $2 returning ${RETENTION_RETURNING}`,
    [organizationId, id, change.retentionEndsAt, change.deletesAt, change.state],
  );
  return rows[0]!;
}

export async function setLegalHold(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  id: string,
  hold: boolean,
): Promise<RecordRetentionRow | undefined> {
  const { rows } = await db.query<RecordRetentionRow>(
    `update ${MODULES[module].table} set legal_hold = $3 where organization_id = $1 and id = $2 returning ${RETENTION_RETURNING}`,
    [organizationId, id, hold],
  );
  return rows[0];
}

/** Puts the originals back from the vault: personal fields restored, ACTIVE, no longer masked. */
export async function restoreMaskedRecord(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  id: string,
  originals: Partial<Record<PersonalField, string | null>>,
  dates: { retentionEndsAt: Date; deletesAt: Date },
): Promise<RecordRetentionRow> {
  const params: unknown[] = [organizationId, id, dates.retentionEndsAt, dates.deletesAt];
  const sets = PERSONAL_FIELDS[module].map((field) => {
    params.push(originals[field] ?? null);
    return `${MODULES[module].fields[field]!.column} = $${params.length}`;
  });
  const { rows } = await db.query<RecordRetentionRow>(
    `update ${MODULES[module].table} set ${sets.join(', ')}, retention_state = 'ACTIVE', masked_at = null,
       retention_ends_at = $3, deletes_at = $4
     where organization_id = $1 and id = $2 returning ${RETENTION_RETURNING}`,
    params,
  );
  return rows[0]!;
}

export async function findVaultEntry(
  db: Queryable,
  organizationId: string,
  module: RetentionModule,
  recordId: string,
): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ ciphertext: Buffer }>(
    'select ciphertext from retention_vault where organization_id = $1 and module = $2 and record_id = $3',
    [organizationId, module, recordId],
  );
  return rows[0]?.ciphertext;
}

export async function deleteVaultEntry(db: Queryable, organizationId: string, module: RetentionModule, recordId: string): Promise<void> {
  await db.query('delete from retention_vault where organization_id = $1 and module = $2 and record_id = $3', [
    organizationId,
    module,
    recordId,
  ]);
}
