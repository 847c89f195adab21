/**
 * For bench/retention.ts --explain: EXPLAIN (ANALYZE, BUFFERS) of the sweep's own batch statements (the
 * repository functions themselves, through a Queryable that prefixes EXPLAIN), on one batch from the middle of
 * the organization's records, in a transaction that is rolled back.
 * A plan that sorts, counts or scans the whole table per batch is what makes a sweep slower per batch at 10M.
 */
import type pg from 'pg';
import { MODULES } from '../src/modules/crm/crm.modules.ts';
import type { Cursor } from '../src/modules/retention/retention-records.repository.ts';
import * as sweepRepo from '../src/modules/retention/retention-sweep.repository.ts';
import type { Queryable } from '../src/modules/retention/retention.repository.ts';

export interface ExplainTarget {
  organizationId: string;
  pass: 'MASK' | 'DELETE';
  rows: number;
  batch: number;
  now: Date;
}

export async function explainBatches(pool: pg.Pool, t: ExplainTarget, log: (line: string) => void): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const after = await middle(client, t);
    const page = { after, limit: t.batch };
    const explain = explaining(client, log);
    if (t.pass === 'MASK') {
      await show(log, 'lock a MASK batch', () => sweepRepo.lockMaskBatch(explain, 'CONTACTS', t.organizationId, page, t.now));
      const locked = await sweepRepo.lockMaskBatch(client, 'CONTACTS', t.organizationId, page, t.now);
      const ids = locked.map((r) => r.id);
      const rowIds = locked.map((r) => r.rowId);
      await show(log, 'mask the locked rows', () => sweepRepo.maskRows(explain, 'CONTACTS', t.organizationId, rowIds, t.now));
      const entries = ids.map((recordId) => ({ recordId, ciphertext: Buffer.alloc(160, 7) }));
      await show(log, 'insert the vault entries', () => sweepRepo.insertVaultEntries(explain, t.organizationId, 'CONTACTS', entries, t.now));
    } else {
      const reason = 'retention masking period ended';
      await show(log, 'DELETE batch', () => sweepRepo.deleteBatch(explain, 'CONTACTS', t.organizationId, page, t.now, reason));
    }
  } finally {
    await client.query('rollback');
    client.release();
  }
}

/** The keyset cursor half way through the organization's records (OFFSET here, once, not in the sweep). */
async function middle(client: pg.PoolClient, t: ExplainTarget): Promise<Cursor> {
  const { rows } = await client.query<{ id: string; createdAt: Date }>(
    `select id, created_at as "createdAt" from ${MODULES.CONTACTS.table} where organization_id = $1
     order by created_at, id offset $2 limit 1`,
    [t.organizationId, Math.floor(t.rows / 2)],
  );
  return rows[0] ?? { createdAt: '-infinity', id: '00000000-0000-0000-0000-000000000000' };
}

async function show(log: (line: string) => void, title: string, run: () => Promise<unknown>): Promise<void> {
  log(`\n--- EXPLAIN: ${title}`);
  await run();
}

/** A Queryable that runs EXPLAIN ANALYZE of each statement and logs the plan (the caller's result is meaningless). */
function explaining(client: pg.PoolClient, log: (line: string) => void): Queryable {
  const query = async (text: string, values?: unknown[]) => {
    const result = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${text}`, values);
    // Parameters are inlined in the plan: cut the 2,000-id arrays short.
    for (const row of result.rows) log(row['QUERY PLAN'].replace(/\{[0-9a-f-]{36}(,[0-9a-f-]{36})+\}/g, (ids) => `{${ids.slice(1, 37)},…}`));
    return { ...result, rows: [], rowCount: 0 };
  };
  return { query } as unknown as Queryable;
}
