/** The parts of a pg-boss job a tracked-job handler needs (tests may build one by hand). */
export interface JobAttempt<T extends object> {
  id: string;
  data: T;
  /** 0 on the first attempt, +1 on each retry. */
  retryCount: number;
  retryLimit: number;
  /** Aborted by pg-boss when this attempt lost its claim (heartbeat missed, cancelled). */
  signal?: AbortSignal;
}

/**
 * The fence of one attempt on its domain row: every write of the attempt is a conditional UPDATE on
 * `attempts = n`, and the first one that matches nothing means a newer attempt (or the watchdog) owns the row.
 * `lose()` then stops the attempt's work through `signal`, which also follows pg-boss's own abort.
 */
export class AttemptFence {
  private readonly controller = new AbortController();
  readonly signal: AbortSignal;

  constructor(jobSignal?: AbortSignal) {
    this.signal = jobSignal ? AbortSignal.any([jobSignal, this.controller.signal]) : this.controller.signal;
  }

  lose(): void {
    this.controller.abort(new Error('the job is no longer this attempt\'s'));
  }

  /** True once a fenced write found the row taken over (not when pg-boss aborted the attempt). */
  get lost(): boolean {
    return this.controller.signal.aborted;
  }
}

/** Whether pg-boss will run the job again if this attempt throws. */
export function willRetry(job: Pick<JobAttempt<object>, 'retryCount' | 'retryLimit' | 'signal'>): boolean {
  return job.signal?.aborted === true || job.retryCount < job.retryLimit;
}
