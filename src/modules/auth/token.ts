import { createHash, randomBytes } from 'node:crypto';

const PREFIX = 'cda_';

/** A new API token: 256 random bits with a recognisable prefix (secret scanners can spot a leaked one). */
export function generateToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/** Tokens are high-entropy, so a plain SHA-256 is enough (no need for a slow password hash). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function looksLikeToken(value: string): boolean {
  return value.startsWith(PREFIX) && /^[A-Za-z0-9_-]{40,80}$/.test(value.slice(PREFIX.length));
}

/** `Bearer <token>` → token; anything else → undefined. */
export function parseBearer(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
