import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/http/rate-limiter.ts';

/** A limiter on a clock the test moves. */
function limiter(perMinute: number, maxKeys?: number) {
  let now = 1_000_000;
  const limits = new RateLimiter({ perMinute, maxKeys, now: () => now });
  return { limits, advance: (ms: number) => (now += ms) };
}

const takeMany = (limits: RateLimiter, key: string, n: number) => Array.from({ length: n }, () => limits.take(key).allowed);

describe('RateLimiter (RATE_LIMIT_PER_MINUTE as a token bucket)', () => {
  it('allows a minute of operations at once, then refuses with the seconds until the next one', () => {
    const { limits } = limiter(3);
    expect(takeMany(limits, 'token:a', 3)).toEqual([true, true, true]);
    expect(limits.take('token:a')).toEqual({ allowed: false, retryAfterSeconds: 20 });
    expect(limits.take('token:b').allowed).toBe(true); // each key has its own budget
  });

  it('refills continuously: one operation per 60/limit seconds, never above the limit', () => {
    const { limits, advance } = limiter(600);
    expect(takeMany(limits, 'k', 600).every(Boolean)).toBe(true);
    expect(limits.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    advance(100); // 0.1 s at 10 per second: one more
    expect(takeMany(limits, 'k', 2)).toEqual([true, false]);
    advance(10 * 60_000); // a long pause refills to the limit, not beyond
    expect(takeMany(limits, 'k', 601).filter(Boolean)).toHaveLength(600);
  });

  it('rounds Retry-After up to whole seconds, at least 1', () => {
    const { limits, advance } = limiter(7);
    takeMany(limits, 'k', 7);
    expect(limits.take('k')).toEqual({ allowed: false, retryAfterSeconds: 9 }); // 60/7 = 8.57 s
    advance(8_000);
    expect(limits.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('check() tells without counting', () => {
    const { limits } = limiter(1);
    expect(limits.check('k').allowed).toBe(true);
    expect(limits.check('k').allowed).toBe(true);
    expect(limits.take('k').allowed).toBe(true);
    expect(limits.check('k')).toEqual({ allowed: false, retryAfterSeconds: 60 });
  });

  it('0 disables it: everything allowed, nothing stored', () => {
    const { limits } = limiter(0);
    expect(limits.enabled).toBe(false);
    expect(takeMany(limits, 'k', 10_000).every(Boolean)).toBe(true);
    expect(limits.size).toBe(0);
  });

  it('keeps at most maxKeys buckets however many clients come (the least recently used go first)', () => {
    const { limits } = limiter(5, 100);
    for (let i = 0; i < 10_000; i++) limits.take(`ip:10.0.${i >> 8}.${i & 255}`);
    expect(limits.size).toBe(100);
    // A busy key stays: it is always among the most recently used.
    const { limits: busy } = limiter(2, 3);
    busy.take('hot');
    busy.take('hot');
    for (let i = 0; i < 50; i++) {
      busy.take(`cold-${i}`);
      expect(busy.take('hot').allowed).toBe(false);
    }
  });

  it('forgets a bucket a minute after its last use (it would be full again)', () => {
    const { limits, advance } = limiter(2);
    limits.take('k');
    expect(limits.size).toBe(1);
    advance(60_001);
    expect(limits.check('k').allowed).toBe(true);
    expect(limits.size).toBe(0);
  });
});
