import { PreviousBatchFailed, type Batch } from './import-batch.ts';
import type { ImportCheckpoint } from './import.table.ts';

/**
 * Batches of one table in flight, so the reader (this process) and the database (another) work at once, and two
 * batches can use two database backends. The order of the job's progress stays the order of the file:
 *   - a batch writes its records at once, but records its counts (and commits) only after the batch before it has
 *     committed (`previous`), and only if the job's checkpoint is then exactly the one it follows (`after`);
 *   - a batch that shares an id with one in flight waits for it (two transactions never touch the same record,
 *     so they cannot deadlock each other).
 */
export class BatchPipeline {
  private readonly inflight: { done: Promise<void>; ids: Set<string> }[] = [];
  private last: ImportCheckpoint | null;

  constructor(
    private readonly write: (batch: Batch) => Promise<void>,
    private readonly parallel: number,
    start: ImportCheckpoint | null,
  ) {
    this.last = start;
  }

  /** The checkpoint of the last batch pushed: the job's, once `drain` resolved. */
  get checkpoint(): ImportCheckpoint | null {
    return this.last;
  }

  /** Starts writing the batch once there is room; rejects with an earlier batch's failure. */
  async push(batch: Batch): Promise<void> {
    const ids = new Set(batch.records.map((r) => r.id));
    while (this.inflight.length >= this.parallel || this.inflight.some((f) => sharesAny(f.ids, ids))) await this.settleOldest();
    batch.after = this.last;
    batch.previous = this.inflight.at(-1)?.done; // settled and gone from the list: it committed
    this.last = batch.checkpoint;
    const done = this.write(batch);
    done.catch(() => undefined); // settled (and its failure reported) by settleOldest or drain
    this.inflight.push({ done, ids });
  }

  /** Waits until every batch has settled; then throws the failure of the first one that failed, if any. */
  async drain(): Promise<void> {
    let first: { error: unknown } | undefined;
    while (this.inflight.length > 0) {
      try {
        await this.settleOldest();
      } catch (error) {
        // A batch that failed only because the one before it did is not the story.
        if (!first || (first.error instanceof PreviousBatchFailed && !(error instanceof PreviousBatchFailed))) first = { error };
      }
    }
    if (first) throw first.error;
  }

  private async settleOldest(): Promise<void> {
    await this.inflight.shift()?.done;
  }
}

function sharesAny(a: Set<string>, b: Set<string>): boolean {
  const [small, large] = a.size < b.size ? [a, b] : [b, a];
  for (const id of small) if (large.has(id)) return true;
  return false;
}
