import { describe, expect, it } from 'vitest';
import { MODULES } from '../../src/modules/crm/crm.modules.ts';
import { PreviousBatchFailed, type Batch } from '../../src/modules/restore/import-batch.ts';
import { BatchPipeline } from '../../src/modules/restore/import-pipeline.ts';

const batchOf = (row: number, ids: string[]): Batch => ({
  spec: MODULES.CONTACTS,
  file: 'contacts.csv',
  records: ids.map((id, i) => ({ row: row + i, id, ownerId: null, createdAt: 0, updatedAt: 0, values: {}, maskedAt: null, legalHold: null })),
  rowErrors: [],
  rows: ids.length,
  checkpoint: { table: 0, row: row + ids.length - 1 },
  errorRoom: 0,
  after: null,
});

/** A writer whose writes finish when the test says so. */
function controlledWriter() {
  const started: Batch[] = [];
  const finishers = new Map<Batch, { resolve: () => void; reject: (e: Error) => void }>();
  const write = (batch: Batch) =>
    new Promise<void>((resolve, reject) => {
      started.push(batch);
      finishers.set(batch, { resolve, reject });
    });
  return { started, write, finish: (b: Batch) => finishers.get(b)!.resolve(), fail: (b: Batch, e: Error) => finishers.get(b)!.reject(e) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('import batch pipeline', () => {
  it('keeps at most `parallel` batches in flight, chains checkpoints and the batch before', async () => {
    const w = controlledWriter();
    const pipeline = new BatchPipeline(w.write, 2, { table: 0, row: 1 });
    const [a, b, c] = [batchOf(2, ['a']), batchOf(3, ['b']), batchOf(4, ['c'])];
    await pipeline.push(a);
    await pipeline.push(b);
    const third = pipeline.push(c);
    await tick();
    expect(w.started).toEqual([a, b]); // c waits for room
    expect(a.after).toEqual({ table: 0, row: 1 });
    expect(b.after).toEqual(a.checkpoint);
    expect(a.previous).toBeUndefined();
    expect(b.previous).toBeInstanceOf(Promise);
    w.finish(a);
    await third;
    expect(w.started).toEqual([a, b, c]);
    expect(c.after).toEqual(b.checkpoint);
    w.finish(b);
    w.finish(c);
    await pipeline.drain();
    expect(pipeline.checkpoint).toEqual(c.checkpoint);
  });

  it('does not start a batch that shares an id with one in flight until that one settles', async () => {
    const w = controlledWriter();
    const pipeline = new BatchPipeline(w.write, 4, null);
    const [a, b] = [batchOf(2, ['x', 'y']), batchOf(4, ['z', 'x'])];
    await pipeline.push(a);
    const second = pipeline.push(b);
    await tick();
    expect(w.started).toEqual([a]);
    w.finish(a);
    await second;
    expect(w.started).toEqual([a, b]);
    w.finish(b);
    await pipeline.drain();
  });

  it('reports the first real failure, not the batches that failed because of it', async () => {
    const w = controlledWriter();
    const pipeline = new BatchPipeline(w.write, 3, null);
    const [a, b, c] = [batchOf(2, ['a']), batchOf(3, ['b']), batchOf(4, ['c'])];
    for (const batch of [a, b, c]) await pipeline.push(batch);
    w.finish(a);
    w.fail(b, new Error('connection lost'));
    w.fail(c, new PreviousBatchFailed('b failed'));
    await expect(pipeline.drain()).rejects.toThrow('connection lost');
  });
});
