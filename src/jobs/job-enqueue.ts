import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import { inTransaction } from './boss.ts';

/**
 * Sends a job in the caller's transaction (DESIGN.md: the domain row and its job commit together, or neither
 * does). The queue's NOTIFY, if it has one, is part of that transaction too: workers wake when it commits.
 */
export async function enqueueInTransaction<T extends object>(
  boss: PgBoss,
  client: Pick<pg.PoolClient, 'query'>,
  queue: string,
  data: T,
  opts: { startAfterSeconds?: number } = {},
): Promise<string> {
  const startAfter = opts.startAfterSeconds === undefined ? undefined : Math.max(0, Math.ceil(opts.startAfterSeconds));
  const jobId = await boss.send(queue, data, { db: inTransaction(client), ...(startAfter === undefined ? {} : { startAfter }) });
  if (!jobId) throw new Error(`pg-boss created no job on queue ${queue}`);
  return jobId;
}
