/**
 * The set-based SQL of an import batch: which ids are taken (tombstone, masked), which
 * references exist, and the multi-row upsert. One statement per step whatever the batch size: arrays go in as
 * `unnest` parameters (one parameter per column, not per cell), so a 5,000-row batch is one round trip.
 */
import type { Queryable } from '../crm/crm.repository.ts';
import type { FieldKind, ModuleSpec } from '../crm/crm.modules.ts';
import type { ImportRecord } from './import-row.ts';

/** Of `ids`, those naming a record of the module in the organization, and those retention deleted (index probes). */
export async function referencedIds(
  db: Queryable,
  spec: ModuleSpec,
  organizationId: string,
  ids: string[],
): Promise<{ existing: Set<string>; tombstoned: Set<string> }> {
  const { rows } = await db.query<{ id: string; exists: boolean; tombstoned: boolean }>(
    `select u.id, r.hit is not null as exists, ts.hit is not null as tombstoned
       from unnest($3::uuid[]) as u(id)
       left join lateral (select 1 as hit from ${spec.table} r where r.id = u.id and r.organization_id = $1 limit 1) r on true
       left join lateral (select 1 as hit from tombstones ts
                           where ts.organization_id = $1 and ts.module = $2 and ts.record_id = u.id limit 1) ts on true`,
    [organizationId, spec.module, ids],
  );
  const existing = new Set<string>();
  const tombstoned = new Set<string>();
  for (const row of rows) {
    if (row.exists) existing.add(row.id);
    else if (row.tombstoned) tombstoned.add(row.id);
  }
  return { existing, tombstoned };
}

const ARRAY_TYPE: Record<FieldKind, string> = {
  text: 'text',
  email: 'text',
  currency: 'text',
  amount: 'float8',
  date: 'date',
  ref: 'uuid',
};

// Exact: epoch milliseconds as an integer interval, no floating point and no time zone involved.
const instant = (ms: string) => `timestamptz 'epoch' + ${ms} * interval '1 millisecond'`;

interface UpsertSql {
  text: string;
  columns: (r: ImportRecord) => unknown[];
}

const UPSERT_SQL = new Map<string, UpsertSql>();

/**
 * One statement per batch, so the rows travel once:
 *   `tomb`    ids retention deleted for good (tombstones): not brought back;
 *   `written` INSERT … SELECT FROM unnest(…) ON CONFLICT (organization_id, id) DO UPDATE of the others, `WHERE`
 *             the existing record is not MASKED (a restore never brings masked personal data back).
 * Ids are unique per organization (API.md §6): the conflict target is the organization's own record, so an id
 * another organization uses is simply a new record here; that record is never read, named or touched.
 * Ids neither written nor tombstoned were refused by the guard (MASKED); `refusedIds` confirms they still exist.
 *
 * Every lookup is an index probe per row (the tombstone check is a LATERAL … LIMIT 1, which PostgreSQL cannot turn
 * into a hash of all the organization's tombstones): a plain join or EXISTS may be planned as a scan of the whole
 * table or of every tombstone, for every batch, a cost that grows with the data instead of with the batch.
 *
 * Retention dates are left empty and recomputed by the current policy afterwards, never copied from the file; a
 * legal hold is never released by a restore (`t.legal_hold or excluded.legal_hold`).
 *
 * `absent`: fields whose column the file lacks (an older file, before the field existed): null on a new record,
 * left as they are on an existing one.
 */
function upsertSql(spec: ModuleSpec, absent: readonly string[]): UpsertSql {
  const key = [spec.module, ...absent].join(' ');
  const cached = UPSERT_SQL.get(key);
  if (cached) return cached;
  const fields = Object.entries(spec.fields);
  const names = ['id', 'owner_id', 'created_ms', 'updated_ms', ...fields.map(([, f]) => f.column)];
  const types = ['uuid', 'uuid', 'int8', 'int8', ...fields.map(([, f]) => ARRAY_TYPE[f.kind])];
  const target = ['id', 'organization_id', 'owner_id', 'created_at', 'updated_at', ...fields.map(([, f]) => f.column)];
  const select = ['u.id', '$1::uuid', 'u.owner_id', instant('u.created_ms'), instant('u.updated_ms'), ...fields.map(([, f]) => `u.${f.column}`)];
  const kept = new Set(['id', 'organization_id', ...absent.map((name) => spec.fields[name]!.column)]);
  const updates = target.filter((c) => !kept.has(c)).map((c) => `${c} = excluded.${c}`);
  const guards: string[] = [];
  if (spec.retention) {
    names.push('masked_ms', 'legal_hold');
    types.push('int8', 'bool');
    target.push('retention_state', 'masked_at', 'legal_hold', 'retention_ends_at', 'deletes_at');
    select.push(
      `case when u.masked_ms is null then 'ACTIVE' else 'MASKED' end`,
      `case when u.masked_ms is null then null else ${instant('u.masked_ms')} end`,
      'coalesce(u.legal_hold, false)',
      'null',
      'null',
    );
    updates.push(
      'retention_state = excluded.retention_state',
      'masked_at = excluded.masked_at',
      'legal_hold = t.legal_hold or excluded.legal_hold',
      'retention_ends_at = null',
      'deletes_at = null',
    );
    guards.push(`t.retention_state <> 'MASKED'`);
  }
  const params = types.map((type, i) => `$${i + 3}::${type}[]`).join(', ');
  const text = `with u as (select * from unnest(${params}) as u(${names.join(', ')})),
    tomb as (
      select u.id from u cross join lateral (
        select 1 from tombstones ts where ts.organization_id = $1 and ts.module = $2 and ts.record_id = u.id limit 1
      ) hit
    ),
    written as (
      insert into ${spec.table} as t (${target.join(', ')})
      select ${select.join(', ')} from u where not exists (select 1 from tomb where tomb.id = u.id)
      on conflict (organization_id, id) do update set ${updates.join(', ')}${guards.length ? `
      where ${guards.join(' and ')}` : ''}
      returning t.id, case when t.xmax = 0 then 'inserted' else 'updated' end as outcome
    )
    select id, 'tombstoned' as outcome from tomb union all select id, outcome from written`;
  const sql: UpsertSql = {
    text,
    columns: (r) => {
      const row: unknown[] = [r.id, r.ownerId, r.createdAt, r.updatedAt, ...fields.map(([name]) => r.values[name] ?? null)];
      if (spec.retention) row.push(r.maskedAt, r.legalHold);
      return row;
    },
  };
  UPSERT_SQL.set(key, sql);
  return sql;
}

/** The guard refused these ids: the organization's records that are MASKED (gone meanwhile: none). */
async function refusedIds(db: Queryable, spec: ModuleSpec, organizationId: string, ids: string[]): Promise<Map<string, RowOutcome>> {
  const { rows } = await db.query<{ id: string }>(
    `select id from ${spec.table} where organization_id = $1 and id = any($2::uuid[])`,
    [organizationId, ids],
  );
  return new Map(rows.map((r) => [r.id, 'masked']));
}

export type RowOutcome = 'inserted' | 'updated' | 'tombstoned' | 'masked';

/** The fields a record has no value for at all (its file lacks their columns), in field order. */
const absentFields = (spec: ModuleSpec, record: ImportRecord): string[] =>
  Object.keys(spec.fields).filter((name) => !(name in record.values));

/** Writes the records; the outcome of each id (none: refused, and gone by the time we asked why). */
export async function upsertRecords(
  db: Queryable,
  spec: ModuleSpec,
  organizationId: string,
  records: readonly ImportRecord[],
): Promise<Map<string, RowOutcome>> {
  // A batch comes from one file, so its records lack the same columns; grouping makes that hold by construction.
  const groups = new Map<string, { absent: string[]; records: ImportRecord[] }>();
  for (const record of records) {
    const absent = absentFields(spec, record);
    const group = groups.get(absent.join(' ')) ?? { absent, records: [] };
    group.records.push(record);
    groups.set(absent.join(' '), group);
  }
  const outcomes = new Map<string, RowOutcome>();
  for (const group of groups.values()) {
    for (const [id, outcome] of await upsertGroup(db, spec, organizationId, group.records, group.absent)) outcomes.set(id, outcome);
  }
  return outcomes;
}

async function upsertGroup(
  db: Queryable,
  spec: ModuleSpec,
  organizationId: string,
  records: readonly ImportRecord[],
  absent: readonly string[],
): Promise<Map<string, RowOutcome>> {
  const sql = upsertSql(spec, absent);
  const width = sql.columns(records[0]!).length;
  const arrays: unknown[][] = Array.from({ length: width }, () => new Array<unknown>(records.length));
  records.forEach((record, i) => {
    const values = sql.columns(record);
    for (let c = 0; c < width; c++) arrays[c]![i] = values[c];
  });
  const { rows } = await db.query<{ id: string; outcome: RowOutcome }>(sql.text, [organizationId, spec.module, ...arrays]);
  const outcomes = new Map<string, RowOutcome>(rows.map((r) => [r.id, r.outcome]));
  const refused = records.filter((r) => !outcomes.has(r.id)).map((r) => r.id);
  if (refused.length === 0) return outcomes;
  for (const [id, why] of await refusedIds(db, spec, organizationId, refused)) outcomes.set(id, why);
  return outcomes;
}
