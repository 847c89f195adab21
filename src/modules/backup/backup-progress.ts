import type { ProgressPoint } from '../../jobs/job-progress.ts';

/**
 * Turns the archive builder's per-module reports into progress over the whole backup. Totals start as estimates
 * (counted before the snapshot) and are replaced by each module's exact total as it begins.
 */
export class OverallProgress {
  private readonly totals: Map<string, number>;
  private readonly processed = new Map<string, number>();

  constructor(estimates: Map<string, number>) {
    this.totals = new Map(estimates);
  }

  update(module: string, processedRecords: number, totalRecords: number): ProgressPoint {
    this.totals.set(module, totalRecords);
    this.processed.set(module, Math.min(processedRecords, totalRecords));
    let processed = 0;
    let total = 0;
    for (const [name, count] of this.totals) {
      total += count;
      processed += this.processed.get(name) ?? 0;
    }
    return { module, processedRecords: processed, totalRecords: total };
  }
}
