import type pg from 'pg';
import { withTransaction, type TxScope } from '../db/transaction.ts';

/** How a tracked job ends: its fenced UPDATE, what the end tells the world, and what it leaves to clean up. */
export interface FinishSteps<R> {
  /** The conditional UPDATE (status and attempt in its WHERE); undefined when the attempt no longer owns the row. */
  mark(tx: TxScope): Promise<R | undefined>;
  /** Events, activity, notifications and follow-up jobs: in the same transaction, so they exist only if it commits. */
  announce(tx: TxScope, row: R): Promise<void>;
  /** Files the finished job no longer needs; after COMMIT, and its failures are the step's own to log. */
  cleanUp?(row: R): Promise<void>;
}

/** Finishes a tracked job in one transaction; returns the finished row, or undefined when the attempt was fenced out. */
export function finishTracked<R>(pool: pg.Pool, steps: FinishSteps<R>): Promise<R | undefined> {
  return withTransaction(pool, async (tx) => {
    const row = await steps.mark(tx);
    if (row === undefined) return undefined;
    await steps.announce(tx, row);
    const { cleanUp } = steps;
    if (cleanUp) tx.afterCommit(() => cleanUp(row));
    return row;
  });
}
