import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ByteRange } from '../../storage/blob-store.ts';

/**
 * Signed download links (DESIGN.md): HMAC-SHA256 with APP_SECRET over the backup id and the expiry, so a link
 * names one backup and dies on time; nobody can forge or extend one without the secret. Pure functions.
 */
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/; // 32 bytes, base64url without padding
const EXPIRES = /^\d{1,12}$/;

function signatureOf(secret: string, backupId: string, expiresEpochSeconds: number): string {
  return createHmac('sha256', secret).update(`backup-download:v1:${backupId}:${expiresEpochSeconds}`).digest('base64url');
}

export function signDownloadLink(
  publicUrl: string,
  secret: string,
  backupId: string,
  expiresAt: Date,
): { url: string; expiresAt: Date } {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  const signature = signatureOf(secret, backupId, expires);
  const url = `${publicUrl}/downloads/backups/${encodeURIComponent(backupId)}?expires=${expires}&signature=${signature}`;
  return { url, expiresAt: new Date(expires * 1000) };
}

export type LinkVerdict = 'valid' | 'invalid' | 'expired';

/** Checks a link's parameters; the comparison takes the same time whatever the signature. */
export function verifyDownloadLink(secret: string, backupId: string, expires: unknown, signature: unknown, now: Date): LinkVerdict {
  if (typeof expires !== 'string' || typeof signature !== 'string' || !EXPIRES.test(expires) || !SIGNATURE.test(signature)) {
    return 'invalid';
  }
  const expected = Buffer.from(signatureOf(secret, backupId, Number(expires)));
  if (!timingSafeEqual(expected, Buffer.from(signature))) return 'invalid';
  return Number(expires) * 1000 > now.getTime() ? 'valid' : 'expired';
}

export type RangeRequest = { kind: 'none' } | { kind: 'range'; range: ByteRange } | { kind: 'unsatisfiable' };

/**
 * One `bytes=` range of RFC 9110 (`a-b`, `a-`, `-n`). Several ranges, other units or a malformed header are
 * ignored (the whole file is sent), as the RFC allows; a well-formed range outside the file is unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (!header) return { kind: 'none' };
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'none' };
  const [, first = '', last = ''] = match;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return { kind: 'none' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', range: { start, end } };
}

/** `Content-Disposition` for a file name (ASCII fallback plus RFC 5987 UTF-8 form). */
export function attachmentHeader(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
