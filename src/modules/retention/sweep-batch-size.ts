/**
 * How many records the sweep's next batch takes. A batch holds its row locks for its whole transaction, and how
 * long that is depends on the machine, its load and the table's size (index pages that no longer stay cached at
 * 10M rows): a fixed count that takes 300 ms on a quiet machine took 2 s on a loaded one (bench/retention.ts).
 * So the count follows the time the last batch took, aiming at TARGET_LOCK_MS, a quarter of the one-second
 * ceiling (issue 12), which leaves room for a checkpoint or a burst of load in the middle of a batch.
 */
/** The first batch's size: small, since nothing is known yet of this machine (it doubles per quick batch). */
export const SWEEP_BATCH = 500;
export const TARGET_LOCK_MS = 250;
export const MIN_SWEEP_BATCH = 100;
export const MAX_SWEEP_BATCH = 10_000;

/**
 * The next batch size after a batch of `size` records held its locks `lockMs`: scaled toward TARGET_LOCK_MS,
 * changing by at most half or double per step (one slow batch is often noise), within MIN..MAX_SWEEP_BATCH.
 * A duration that is not a positive finite number says nothing: the size stays.
 */
export function nextBatchSize(size: number, lockMs: number): number {
  const current = clamp(Number.isFinite(size) ? Math.round(size) : SWEEP_BATCH, MIN_SWEEP_BATCH, MAX_SWEEP_BATCH);
  if (!Number.isFinite(lockMs) || lockMs <= 0) return current;
  const scaled = current * Math.min(2, Math.max(0.5, TARGET_LOCK_MS / lockMs));
  return clamp(Math.round(scaled), MIN_SWEEP_BATCH, MAX_SWEEP_BATCH);
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}
