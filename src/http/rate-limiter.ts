import { LRUCache } from 'lru-cache';

/** The answer of `take`: allowed, or refused with the whole seconds until one more operation would be allowed. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RateLimiterOptions {
  /** Operations per minute per key; 0 disables the limiter (every call is allowed, nothing is stored). */
  perMinute: number;
  /** Keys tracked at once; the least recently used are forgotten first (an idle key's bucket is full anyway). */
  maxKeys?: number;
  /** Milliseconds, monotonic; injectable so tests move time instead of sleeping. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MINUTE_MS = 60_000;

/**
 * RATE_LIMIT_PER_MINUTE as a token bucket per key (a token id, or a client address), in this process only: a
 * bucket holds a minute's worth of operations and refills continuously, so a client may burst up to the limit
 * and then goes at limit/minute, with no double burst at a window's edge. State is bounded: an LRU of at most
 * `maxKeys` buckets, each dropped a minute after its last use (by then it would be full again, the same as
 * absent). Our own ~60 lines rather than rate-limiter-flexible's memory limiter, which keeps a timer per key
 * and has no bound on the number of keys — under a flood of client addresses that is the memory we must cap.
 */
export class RateLimiter {
  readonly perMinute: number;
  private readonly now: () => number;
  private readonly buckets: LRUCache<string, Bucket> | undefined;

  constructor(opts: RateLimiterOptions) {
    this.perMinute = opts.perMinute;
    this.now = opts.now ?? (() => performance.now());
    if (opts.perMinute > 0) {
      this.buckets = new LRUCache<string, Bucket>({ max: opts.maxKeys ?? 100_000, ttl: MINUTE_MS, ttlResolution: 0, perf: { now: this.now } });
    }
  }

  get enabled(): boolean {
    return this.buckets !== undefined;
  }

  /** Counts one operation for `key`, unless its bucket is empty. */
  take(key: string): RateDecision {
    if (!this.buckets) return { allowed: true };
    const bucket = this.refilled(key);
    if (bucket.tokens < 1) return this.refusal(bucket);
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return { allowed: true };
  }

  /** Whether `key` would be refused now, without counting anything. */
  check(key: string): RateDecision {
    if (!this.buckets) return { allowed: true };
    const bucket = this.refilled(key);
    return bucket.tokens < 1 ? this.refusal(bucket) : { allowed: true };
  }

  /** Buckets held now (for tests of the bound). */
  get size(): number {
    return this.buckets?.size ?? 0;
  }

  private refilled(key: string): Bucket {
    const now = this.now();
    const bucket = this.buckets!.get(key) ?? { tokens: this.perMinute, at: now };
    const elapsed = Math.max(0, now - bucket.at);
    return { tokens: Math.min(this.perMinute, bucket.tokens + (elapsed * this.perMinute) / MINUTE_MS), at: now };
  }

  private refusal(bucket: Bucket): RateDecision {
    const msToOne = ((1 - bucket.tokens) * MINUTE_MS) / this.perMinute;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(msToOne / 1000)) };
  }
}
