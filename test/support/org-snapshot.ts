import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Every row an organization owns, table by table: the tables with an organization_id column (found in the
 * catalog, so a new table is covered without a change here) and the organization's own row. A table with
 * neither is reported, so that a new table cannot silently escape "nothing changed" assertions.
 */
export async function orgSnapshot(pool: pg.Pool, organizationId: string): Promise<Record<string, unknown>> {
  const snapshot: Record<string, unknown> = {};
  for (const table of await orgTables(pool)) {
    const where = table === 'organizations' ? 'id' : 'organization_id';
    const { rows } = await pool.query<{ rows: unknown }>(
      `select coalesce(json_agg(t order by t::text), '[]'::json) as rows from "${table}" t where ${where} = $1`,
      [organizationId],
    );
    snapshot[table] = rows[0]!.rows;
  }
  return snapshot;
}

/** A short digest of orgSnapshot (for many comparisons). */
export async function orgChecksum(pool: pg.Pool, organizationId: string): Promise<string> {
  return createHash('sha256').update(JSON.stringify(await orgSnapshot(pool, organizationId))).digest('hex');
}

let cached: string[] | undefined;

async function orgTables(pool: pg.Pool): Promise<string[]> {
  if (cached) return cached;
  const { rows } = await pool.query<{ table_name: string; has_org: boolean }>(
    `select t.table_name, exists (select 1 from information_schema.columns c
        where c.table_schema = t.table_schema and c.table_name = t.table_name and c.column_name = 'organization_id') as has_org
       from information_schema.tables t
      where t.table_schema = 'public' and t.table_type = 'BASE TABLE' and t.table_name not like '\\_\\_%'
      order by 1`,
  );
  const orphans = rows.filter((r) => !r.has_org && r.table_name !== 'organizations' && !WITHOUT_ORGANIZATION.has(r.table_name));
  if (orphans.length > 0) throw new Error(`tables without organization_id, not covered by orgSnapshot: ${orphans.map((r) => r.table_name).join(', ')}`);
  cached = rows.filter((r) => r.has_org || r.table_name === 'organizations').map((r) => r.table_name);
  return cached;
}

/** Tables that belong to no organization, by design (say why when adding one). */
const WITHOUT_ORGANIZATION = new Set<string>([]);

/**
 * One statement that digests every row an organization owns (same tables as orgSnapshot): cheap enough to run
 * before and after each of thousands of fuzz cases.
 */
export async function orgDigest(pool: pg.Pool, organizationId: string): Promise<string> {
  const tables = await orgTables(pool);
  const parts = tables.map((table) => {
    const where = table === 'organizations' ? 'id' : 'organization_id';
    return `select '${table}:' || t::text as r from "${table}" t where ${where} = $1`;
  });
  const { rows } = await pool.query<{ d: string }>(`select md5(coalesce(string_agg(r, E'\\n' order by r), '')) as d from (${parts.join(' union all ')}) rows`, [organizationId]);
  return rows[0]!.d;
}
