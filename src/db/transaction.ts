import { drizzle } from './drizzle-orm.ts';
import type pg from 'pg';
import type { Db } from './client.ts';
import * as schema from './schema.ts';

/** A transaction: raw SQL on `q`, drizzle (for other modules' services) on `db`, work to do after COMMIT. */
export interface TxScope {
  q: pg.PoolClient;
  db: Db;
  afterCommit(fn: () => void | Promise<void>): void;
}

export interface TransactionOptions {
  /**
   * `false`: COMMIT does not wait for the WAL flush. Only for work a crash may lose and a rerun redoes (import
   * batches, each with its checkpoint).
   */
  synchronousCommit?: boolean;
}

/**
 * The one way the service runs a transaction on its own client: BEGIN, the work, COMMIT — or ROLLBACK and the
 * error as it was — then the `afterCommit` work (events that must not be heard of a change that rolled back).
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (tx: TxScope) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const client = await pool.connect();
  const after: (() => void | Promise<void>)[] = [];
  let result: T;
  try {
    await client.query(options.synchronousCommit === false ? 'begin; set local synchronous_commit = off' : 'begin');
    result = await fn({ q: client, db: drizzle(client, { schema }), afterCommit: (f) => after.push(f) });
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  for (const fn of after) await fn();
  return result;
}
