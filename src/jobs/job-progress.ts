/** A progress report of a tracked job: records done and to do (0: unknown), and the part (module) now worked on. */
export interface ProgressPoint {
  module: string | null;
  processedRecords: number;
  totalRecords: number;
}

/**
 * Decides which progress reports become events and row updates (DESIGN.md: at least every second or every 1%).
 * A report passes when the module changed or the work is done (always), or, once `minMs` went by since the last
 * one passed, when the percentage moved by a whole point or `everyMs` went by with any change; everything in
 * between is dropped. The floor exists because each event is fanned out to every subscriber of every api
 * process: a fast backup crossing a percent every few milliseconds sent dozens of events a second, and 1,000
 * subscribers then got them seconds late (bench/live-events.ts). Pure: time is passed in.
 */
export class ProgressThrottle {
  private last: (ProgressPoint & { at: number }) | undefined;

  constructor(
    private readonly everyMs = 1000,
    private readonly everyPercent = 1,
    private readonly minMs = PROGRESS_MIN_INTERVAL_MS,
  ) {
    if (!(minMs >= 0)) throw new RangeError(`ProgressThrottle: minMs must be ≥ 0 ms, got ${minMs}`);
  }

  accept(point: ProgressPoint, nowMs: number): boolean {
    const last = this.last;
    const pass =
      last === undefined ||
      point.module !== last.module ||
      (point.totalRecords > 0 && point.processedRecords >= point.totalRecords && last.processedRecords < point.totalRecords) ||
      (nowMs - last.at >= this.minMs && this.moved(point, last, nowMs));
    if (pass) this.last = { ...point, at: nowMs };
    return pass;
  }

  private moved(point: ProgressPoint, last: ProgressPoint & { at: number }, nowMs: number): boolean {
    return (
      percentOf(point) - percentOf(last) >= this.everyPercent ||
      (nowMs - last.at >= this.everyMs && (point.processedRecords !== last.processedRecords || point.totalRecords !== last.totalRecords))
    );
  }
}

/** The shortest time between two progress events of one job, but for a module change and the finish. */
export const PROGRESS_MIN_INTERVAL_MS = 250;

/** 0..100 with one decimal; an empty backup is complete. */
export function percentOf(point: Pick<ProgressPoint, 'processedRecords' | 'totalRecords'>): number {
  if (point.totalRecords <= 0) return 0;
  return Math.min(100, Math.floor((point.processedRecords / point.totalRecords) * 1000) / 10);
}

/**
 * Persists and announces progress, throttled, one write at a time, never blocking the work: reports that arrive
 * while a write is in flight replace each other, and the latest is written next. `write` answers false when the
 * attempt no longer owns the row (its fence); `onLost` is then called once per refused write.
 */
export class ProgressPublisher {
  private readonly throttle: ProgressThrottle;
  private pending: ProgressPoint | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly write: (point: ProgressPoint) => Promise<boolean>,
    private readonly handlers: { onLost(): void; onError(error: Error): void },
    throttle = new ProgressThrottle(),
  ) {
    this.throttle = throttle;
  }

  report(point: ProgressPoint): void {
    if (!this.throttle.accept(point, performance.now())) return;
    this.pending = point;
    this.inFlight ??= this.drain();
  }

  /** Waits until every accepted report is written, so progress never follows the finish event. */
  async settle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending) {
        const point = this.pending;
        this.pending = undefined;
        await this.write(point).then(
          (ours) => ours || this.handlers.onLost(),
          // Progress is advisory; losing one update must not fail the job.
          (error: Error) => this.handlers.onError(error),
        );
      }
    } finally {
      this.inFlight = undefined;
    }
  }
}
