import { describe, expect, it } from 'vitest';
import type { TokenViewer } from '../../src/modules/auth/auth.types.ts';
import { TokenCache } from '../../src/modules/auth/token-cache.ts';

const viewer = (n: number): TokenViewer => ({
  userId: `user-${n}`,
  organizationId: 'org',
  role: 'STANDARD',
  email: `u${n}@example.com`,
  tokenId: `token-${n}`,
});

function cache(opts: { max?: number; ttlMs?: number } = {}) {
  let now = 1_000_000; // lru-cache reads a start time of 0 as "no TTL"; performance.now() is never 0
  return { tokens: new TokenCache({ ...opts, now: () => now }), advance: (ms: number) => (now += ms) };
}

describe('TokenCache (per-process cache of live tokens)', () => {
  it('remembers a viewer until its TTL, then asks again (the safety net behind NOTIFY)', () => {
    const { tokens, advance } = cache({ ttlMs: 1_000 });
    tokens.set('hash-1', viewer(1), tokens.generation);
    expect(tokens.get('hash-1')).toEqual(viewer(1));
    advance(999);
    expect(tokens.get('hash-1')).toBeDefined();
    advance(2);
    expect(tokens.get('hash-1')).toBeUndefined();
  });

  it('is bounded: the least recently used token goes first', () => {
    const { tokens } = cache({ max: 3 });
    for (let n = 1; n <= 3; n++) tokens.set(`hash-${n}`, viewer(n), tokens.generation);
    tokens.get('hash-1');
    tokens.set('hash-4', viewer(4), tokens.generation);
    expect(tokens.size).toBe(3);
    expect(tokens.get('hash-2')).toBeUndefined();
    expect(tokens.get('hash-1')).toEqual(viewer(1));
  });

  it('forgets a revoked token by its id, and only that one', () => {
    const { tokens } = cache();
    tokens.set('hash-1', viewer(1), tokens.generation);
    tokens.set('hash-2', viewer(2), tokens.generation);
    tokens.forgetToken('token-1');
    expect(tokens.get('hash-1')).toBeUndefined();
    expect(tokens.get('hash-2')).toEqual(viewer(2));
    tokens.forgetToken('no-such-token');
    expect(tokens.size).toBe(1);
  });

  it('does not take back a lookup that started before an invalidation (the revoked token would live on)', () => {
    const { tokens } = cache();
    const readAt = tokens.generation; // a lookup starts…
    tokens.forgetToken('token-1'); // …the revocation arrives meanwhile…
    tokens.set('hash-1', viewer(1), readAt); // …and its (stale) answer comes back
    expect(tokens.get('hash-1')).toBeUndefined();
    tokens.set('hash-1', viewer(1), tokens.generation);
    expect(tokens.get('hash-1')).toEqual(viewer(1));
  });

  it('clear() drops everything (LISTEN was lost: revocations may have been missed)', () => {
    const { tokens } = cache();
    const readAt = tokens.generation;
    tokens.set('hash-1', viewer(1), readAt);
    tokens.clear();
    expect(tokens.size).toBe(0);
    tokens.set('hash-2', viewer(2), readAt);
    expect(tokens.size).toBe(0);
  });
});
