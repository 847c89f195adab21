/**
 * SQL over the retention columns of leads and contacts: set-based date computation (recompute batches, the
 * write hooks, the preview) and single-record changes (retention date, legal hold, unmask).
 *
 * All date arithmetic is `((ts AT TIME ZONE tz) + interval) AT TIME ZONE tz` with tz the organization's time
 * zone: calendar arithmetic on the organization's wall clock ("2 years" ends on the same local calendar day),
 * whatever the session's TimeZone. With tz = 'UTC' it is exactly `addPeriod` in retention-dates.ts (tested side
 * by side).
 *
 * Sources: a CUSTOM date (set by hand) is the record's own: recomputes keep it (and move only its deletion date
 * with the policy's action period); only the organization switch turned off clears it.
 */
import { MODULES } from '../crm/crm.modules.ts';
import { periodToPgInterval, type RetentionModule, type RetentionRules } from './retention-dates.ts';
import type { Queryable } from './retention.repository.ts';

export * from './record-retention.repository.ts';

// Fixed sets, never client text: safe to place in SQL.
const BASIS_COLUMN = { CREATED_AT: 'created_at', UPDATED_AT: 'updated_at' } as const;

export function utcPlus(timestamp: string, interval: string): string {
  return `((${timestamp} AT TIME ZONE 'UTC') + ${interval}) AT TIME ZONE 'UTC'`;
}

/** `timestamp` + `interval` on the wall clock of the time zone named by the SQL expression `zone` (a parameter). */
export function zonedPlus(timestamp: string, interval: string, zone: string): string {
  return `((${timestamp} AT TIME ZONE ${zone}) + ${interval}) AT TIME ZONE ${zone}`;
}

/** The row `t` holds a date set by hand (a CUSTOM source with its date still there). */
const IS_CUSTOM = `(t.retention_source = 'CUSTOM' AND t.retention_ends_at IS NOT NULL)`;

/**
 * The retention date a policy gives the row `t`: basis + retention period. A MASKED row keeps its own (masking
 * already happened on it; after the switch was off it has none, and the day it was masked stands in); a CUSTOM
 * date is the record's own.
 */
function retentionDateSql(rules: RetentionRules, intervalParam: string, zoneParam: string): string {
  const computed = zonedPlus(`t.${BASIS_COLUMN[rules.basis]}`, `${intervalParam}::interval`, `${zoneParam}::text`);
  return `CASE WHEN t.retention_state = 'MASKED' THEN coalesce(t.retention_ends_at, t.masked_at, ${computed})
    WHEN ${IS_CUSTOM} THEN t.retention_ends_at ELSE ${computed} END`;
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

/** What a recompute or clearing brings a page of records to. */
export interface RuleTarget {
  /** The policy in force, or undefined: no dates (the switch or the policy is off). */
  rules: RetentionRules | undefined;
  /** The organization switch is off: CUSTOM dates are cleared too ("permanently"). */
  clearCustom: boolean;
  /** The organization's IANA time zone, in which periods are counted. */
  timeZone: string;
  /** The recompute's version: rows changed by hand after it was enqueued (a higher version) are left alone. */
  asOf?: number | null;
}

/**
 * Brings the records of one page to the rules: dates from the policy (CUSTOM dates kept, their deletion date
 * moved with the action period), or none; EXPIRED records whose retention date is now in the future back to
 * ACTIVE. Rows that already match are not written. Masked records stay masked.
 *
 * Races are settled in the UPDATE itself: it writes a row only if its `retention_version` is still the one the
 * dates were computed from (a hand change in between bumped it and wins) and, for a recompute, not above the
 * version the recompute was enqueued at.
 */
export async function applyRules(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  target: RuleTarget,
  page: { after: Cursor; limit: number } | { id: string },
  now: Date,
): Promise<BatchOutcome> {
  const table = MODULES[module].table;
  const batch = 'after' in page ? KEYSET_BATCH(table) : ONE_RECORD(table);
  const params: unknown[] =
    'after' in page
      ? [organizationId, page.after.createdAt, page.after.id, page.limit, now]
      : [organizationId, null, page.id, 1, now];
  params.push(target.asOf ?? null, target.timeZone);
  const { rules } = target;
  let calc: string;
  if (rules) {
    params.push(periodToPgInterval(rules.retentionPeriod), periodToPgInterval(rules.actionPeriod));
    calc = `calc as (
        select t.id, t.retention_version as ver, ${retentionDateSql(rules, '$8', '$7')} as ret,
          CASE WHEN ${IS_CUSTOM} THEN 'CUSTOM' ELSE 'POLICY' END as src
        from ${table} t join batch b on b.id = t.id and t.organization_id = $1
      ), next as (
        select c.id, c.ver, c.ret, ${zonedPlus('c.ret', '$9::interval', '$7::text')} as del, c.src from calc c
      )`;
  } else {
    // Off: no dates, except CUSTOM ones while only the module's policy is off (the switch clears them too).
    const keep = target.clearCustom ? 'false' : IS_CUSTOM;
    calc = `next as (
        select t.id, t.retention_version as ver,
          CASE WHEN ${keep} THEN t.retention_ends_at END as ret, CASE WHEN ${keep} THEN t.deletes_at END as del,
          CASE WHEN ${keep} THEN 'CUSTOM' ELSE 'NONE' END as src
        from ${table} t join batch b on b.id = t.id and t.organization_id = $1 where $7::text is not null
      )`;
  }
  const update = `upd as (
        update ${table} t set retention_ends_at = n.ret, deletes_at = n.del, retention_source = n.src,
          retention_state = CASE WHEN t.retention_state = 'EXPIRED' AND (n.ret is null or n.ret > $5::timestamptz) THEN 'ACTIVE' ELSE t.retention_state END
        from next n
        where t.id = n.id and t.organization_id = $1
          and t.retention_version = n.ver and ($6::bigint is null or t.retention_version <= $6::bigint)
          and (t.retention_ends_at is distinct from n.ret or t.deletes_at is distinct from n.del
               or t.retention_source is distinct from n.src
               or (t.retention_state = 'EXPIRED' and (n.ret is null or n.ret > $5::timestamptz)))
        returning 1)`;
  const { rows } = await db.query<{ lastId: string | null; lastCreatedAt: Date | null; scanned: number; changed: number }>(
    `with batch as (${batch}), last as (select id, created_at from batch order by created_at desc, id desc limit 1), ${calc}, ${update}
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
  /** Records with a CUSTOM date, which the policy does not move. */
  customRecords: number;
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
  window: { now: Date; until: Date; timeZone: string },
): Promise<PreviewCounts> {
  const table = MODULES[module].table;
  const { rows } = await db.query<PreviewCounts>(
    `with calc as (
       select t.retention_state as state, t.legal_hold as hold, ${retentionDateSql(rules, '$3', '$6')} as ret,
              ${IS_CUSTOM} as custom
       from ${table} t where t.organization_id = $1
     ), d as (
       select hold, ret, custom, ${zonedPlus('ret', '$4::interval', '$6::text')} as del,
              CASE WHEN state = 'EXPIRED' AND ret > $2::timestamptz THEN 'ACTIVE' ELSE state END as st
       from calc
     )
     select count(*) filter (where st = 'ACTIVE' and (hold or ret > $2))::int as "activeRecords",
            count(*) filter (where not hold and st = 'ACTIVE' and ret <= $2)::int as "expireNow",
            count(*) filter (where not hold and st <> 'MASKED' and ret <= $2 and del > $2)::int as "maskNow",
            count(*) filter (where not hold and st <> 'MASKED' and ret > $2 and ret <= $5)::int as "maskSoon",
            count(*) filter (where not hold and del <= $2)::int as "deleteNow",
            count(*) filter (where not hold and del > $2 and del <= $5)::int as "deleteSoon",
            count(*) filter (where custom)::int as "customRecords"
     from d`,
    [
      organizationId,
      window.now,
      periodToPgInterval(rules.retentionPeriod),
      periodToPgInterval(rules.actionPeriod),
      window.until,
      window.timeZone,
    ],
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

/** Records that are not MASKED (what stays ACTIVE when no policy is in force), and those with a CUSTOM date. */
export async function countUnmasked(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
): Promise<{ unmasked: number; custom: number }> {
  const { rows } = await db.query<{ unmasked: number; custom: number }>(
    `select count(*) filter (where t.retention_state <> 'MASKED')::int as unmasked, count(*) filter (where ${IS_CUSTOM})::int as custom
     from ${MODULES[module].table} t where t.organization_id = $1`,
    [organizationId],
  );
  return rows[0] ?? { unmasked: 0, custom: 0 };
}
