import { describe, expect, it } from 'vitest';
import { MAX_SWEEP_BATCH, MIN_SWEEP_BATCH, nextBatchSize, SWEEP_BATCH, TARGET_LOCK_MS } from '../../src/modules/retention/sweep-batch-size.ts';

describe('sweep batch size follows the time a batch held its locks', () => {
  it('scales toward the target: a batch at the target keeps its size, a slower one shrinks, a faster one grows', () => {
    expect(nextBatchSize(2000, TARGET_LOCK_MS)).toBe(2000);
    expect(nextBatchSize(2000, TARGET_LOCK_MS * 1.25)).toBe(1600);
    expect(nextBatchSize(2000, TARGET_LOCK_MS / 1.25)).toBe(2500);
  });

  it('changes by at most half or double per batch (one slow batch is often noise)', () => {
    expect(nextBatchSize(2000, TARGET_LOCK_MS * 40)).toBe(1000);
    expect(nextBatchSize(2000, 1)).toBe(4000);
  });

  it(`stays within ${MIN_SWEEP_BATCH}..${MAX_SWEEP_BATCH}`, () => {
    expect(nextBatchSize(MIN_SWEEP_BATCH, 5000)).toBe(MIN_SWEEP_BATCH);
    expect(nextBatchSize(MAX_SWEEP_BATCH, 1)).toBe(MAX_SWEEP_BATCH);
    expect(nextBatchSize(50_000, TARGET_LOCK_MS)).toBe(MAX_SWEEP_BATCH);
    expect(nextBatchSize(3, TARGET_LOCK_MS)).toBe(MIN_SWEEP_BATCH);
  });

  it('bad input: a duration that is not a positive finite number keeps the size; a size that is not a number restarts', () => {
    for (const ms of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) expect(nextBatchSize(1500, ms)).toBe(1500);
    expect(nextBatchSize(Number.NaN, TARGET_LOCK_MS)).toBe(SWEEP_BATCH);
    expect(nextBatchSize(1500.4, TARGET_LOCK_MS)).toBe(1500);
    expect(SWEEP_BATCH).toBeLessThanOrEqual(MAX_SWEEP_BATCH);
  });
});
