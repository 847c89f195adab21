/** A progress report of the archive builder: records done and to do over the whole backup, and the module now read. */
export interface ProgressPoint {
  module: string | null;
  processedRecords: number;
  totalRecords: number;
}

/**
 * Decides which progress reports become PROGRESS events and row updates (DESIGN.md: at least every second or
 * every 1%). A report passes when the percentage moved by a whole point, a second went by with any change, the
 * module changed, or the work is done; everything in between is dropped. Pure: time is passed in.
 */
export class ProgressThrottle {
  private last: (ProgressPoint & { at: number }) | undefined;

  constructor(
    private readonly everyMs = 1000,
    private readonly everyPercent = 1,
  ) {}

  accept(point: ProgressPoint, nowMs: number): boolean {
    const last = this.last;
    const pass =
      last === undefined ||
      point.module !== last.module ||
      (point.totalRecords > 0 && point.processedRecords >= point.totalRecords && last.processedRecords < point.totalRecords) ||
      percentOf(point) - percentOf(last) >= this.everyPercent ||
      (nowMs - last.at >= this.everyMs && (point.processedRecords !== last.processedRecords || point.totalRecords !== last.totalRecords));
    if (pass) this.last = { ...point, at: nowMs };
    return pass;
  }
}

/** 0..100 with one decimal; an empty backup is complete. */
export function percentOf(point: Pick<ProgressPoint, 'processedRecords' | 'totalRecords'>): number {
  if (point.totalRecords <= 0) return 0;
  return Math.min(100, Math.floor((point.processedRecords / point.totalRecords) * 1000) / 10);
}

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
