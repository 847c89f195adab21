import type pg from 'pg';
import type { CrmModuleName, CrmRecord, FieldValues, ModuleSpec } from './crm.modules.ts';
import { MODULES } from './crm.modules.ts';

/** A pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

const RETENTION_SELECT = `, retention_state as "retentionState", retention_ends_at as "retentionEndsAt",
  deletes_at as "deletesAt", masked_at as "maskedAt", legal_hold as "legalHold", retention_source as "retentionSource"`;

/** The select list of a module, computed once: camelCase aliases of every column. */
const SELECT: Record<CrmModuleName, string> = Object.fromEntries(
  Object.values(MODULES).map((spec) => {
    // A DATE as text: node-pg would parse it into a local-midnight Date, which GraphQL's String prints as epoch ms.
    const fields = Object.entries(spec.fields).map(([name, f]) => `${f.column}${f.kind === 'date' ? '::text' : ''} as "${name}"`);
    const list = [
      'id',
      'organization_id as "organizationId"',
      'owner_id as "ownerId"',
      'created_at as "createdAt"',
      'updated_at as "updatedAt"',
      ...fields,
    ].join(', ');
    return [spec.module, list + (spec.retention ? RETENTION_SELECT : '')];
  }),
) as Record<CrmModuleName, string>;

/** One record of the organization; `lock` takes its row lock (inside a transaction) before an update. */
export async function findRecord(
  db: Queryable,
  spec: ModuleSpec,
  organizationId: string,
  id: string,
  lock = false,
): Promise<CrmRecord | undefined> {
  // Unnamed on purpose: a named statement lives in one server session, and PgBouncer in transaction mode (1.18)
  // lends sessions to other clients ("prepared statement already exists / does not exist").
  const { rows } = await db.query<CrmRecord>(
    `select ${SELECT[spec.module]} from ${spec.table} where organization_id = $1 and id = $2${lock ? ' for update' : ''}`,
    [organizationId, id],
  );
  return rows[0];
}

export async function findRecords(db: Queryable, spec: ModuleSpec, organizationId: string, ids: readonly string[]): Promise<CrmRecord[]> {
  const { rows } = await db.query<CrmRecord>(
    `select ${SELECT[spec.module]} from ${spec.table} where organization_id = $1 and id = any($2::uuid[])`,
    [organizationId, ids],
  );
  return rows;
}

export interface ListOptions {
  limit: number;
  after?: { createdAt: string; id: string };
  retentionState?: string;
}

/** Oldest first by (created_at, id): a stable order to page through a whole module. Fetches limit + 1. */
export async function listRecords(db: Queryable, spec: ModuleSpec, organizationId: string, opts: ListOptions): Promise<CrmRecord[]> {
  const params: unknown[] = [organizationId];
  let where = 'organization_id = $1';
  if (opts.retentionState) {
    params.push(opts.retentionState);
    where += ` and retention_state = $${params.length}`;
  }
  if (opts.after) {
    params.push(opts.after.createdAt, opts.after.id);
    where += ` and (created_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
  }
  params.push(opts.limit + 1);
  const { rows } = await db.query<CrmRecord>(
    `select ${SELECT[spec.module]} from ${spec.table} where ${where} order by created_at, id limit $${params.length}`,
    params,
  );
  return rows;
}

export async function countRecords(db: Queryable, spec: ModuleSpec, organizationId: string, retentionState?: string): Promise<number> {
  const params: unknown[] = [organizationId];
  let where = 'organization_id = $1';
  if (retentionState) {
    params.push(retentionState);
    where += ' and retention_state = $2';
  }
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from ${spec.table} where ${where}`, params);
  return rows[0]?.n ?? 0;
}

export async function insertRecord(
  db: Queryable,
  spec: ModuleSpec,
  organizationId: string,
  ownerId: string | null,
  values: FieldValues,
): Promise<CrmRecord> {
  const names = Object.keys(values);
  const columns = ['organization_id', 'owner_id', ...names.map((n) => spec.fields[n]!.column)];
  const params = [organizationId, ownerId, ...names.map((n) => values[n])];
  const placeholders = params.map((_, i) => `$${i + 1}`).join(', ');
  const { rows } = await db.query<CrmRecord>(
    `insert into ${spec.table} (${columns.join(', ')}) values (${placeholders}) returning ${SELECT[spec.module]}`,
    params,
  );
  return rows[0]!;
}

/** Sets the given fields (and the owner when given); `updated_at` moves. Undefined when no such record. */
export async function updateRecord(
  db: Queryable,
  spec: ModuleSpec,
  organizationId: string,
  id: string,
  values: FieldValues,
  ownerId?: string | null,
): Promise<CrmRecord | undefined> {
  const sets: string[] = ['updated_at = now()'];
  const params: unknown[] = [organizationId, id];
  for (const [name, value] of Object.entries(values)) {
    params.push(value);
    sets.push(`${spec.fields[name]!.column} = $${params.length}`);
  }
  if (ownerId !== undefined) {
    params.push(ownerId);
    sets.push(`owner_id = $${params.length}`);
  }
  const { rows } = await db.query<CrmRecord>(
    `update ${spec.table} set ${sets.join(', ')} where organization_id = $1 and id = $2 returning ${SELECT[spec.module]}`,
    params,
  );
  return rows[0];
}

export async function deleteRecord(db: Queryable, spec: ModuleSpec, organizationId: string, id: string): Promise<boolean> {
  const result = await db.query(`delete from ${spec.table} where organization_id = $1 and id = $2`, [organizationId, id]);
  return (result.rowCount ?? 0) > 0;
}

/** Whether every id names a record of that module in the organization (reference checks). */
export async function allExist(db: Queryable, spec: ModuleSpec, organizationId: string, ids: string[]): Promise<boolean> {
  const unique = [...new Set(ids)];
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from ${spec.table} where organization_id = $1 and id = any($2::uuid[])`,
    [organizationId, unique],
  );
  return rows[0]?.n === unique.length;
}
