import { LRUCache } from 'lru-cache';
import type { TokenViewer } from './auth.types.ts';

export interface TokenCacheOptions {
  /** Tokens remembered at once (least recently used dropped first). */
  max?: number;
  /**
   * How long an entry is trusted without asking the database again: a safety net only. Revocations reach every
   * process at once through NOTIFY (see app.ts); this bounds how long a lost notification could be missed.
   */
  ttlMs?: number;
  /** Milliseconds, monotonic; injectable for tests. */
  now?: () => number;
}

/**
 * The per-process cache of live tokens: token hash → viewer (user, organization, role, token id). It holds
 * only tokens the database accepted, never refusals, so random tokens cannot fill it or evict good entries.
 *
 * A lookup that started before an invalidation must not put back what the invalidation removed (the revoked
 * token would live on until the TTL): `generation` moves on every invalidation, and `set` ignores an entry
 * read under an older generation.
 */
export class TokenCache {
  private readonly entries: LRUCache<string, TokenViewer>;
  private currentGeneration = 0;

  constructor(opts: TokenCacheOptions = {}) {
    const now = opts.now ?? (() => performance.now());
    this.entries = new LRUCache<string, TokenViewer>({ max: opts.max ?? 10_000, ttl: opts.ttlMs ?? 60_000, ttlResolution: 0, perf: { now } });
  }

  get generation(): number {
    return this.currentGeneration;
  }

  get(tokenHash: string): TokenViewer | undefined {
    return this.entries.get(tokenHash);
  }

  /** Remembers a viewer read from the database while `generation` was `readAt`. */
  set(tokenHash: string, viewer: TokenViewer, readAt: number): void {
    if (readAt === this.currentGeneration) this.entries.set(tokenHash, viewer);
  }

  /** A token was revoked (in any process). */
  forgetToken(tokenId: string): void {
    this.currentGeneration++;
    // Revocations are rare and the cache is bounded (10,000 entries by default): a scan beats a second index.
    const stale = [...this.entries.entries()].filter(([, viewer]) => viewer.tokenId === tokenId).map(([hash]) => hash);
    for (const hash of stale) this.entries.delete(hash);
  }

  /** Notifications may have been missed (the LISTEN connection was lost): trust nothing remembered. */
  clear(): void {
    this.currentGeneration++;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
