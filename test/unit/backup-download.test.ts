import { describe, expect, it } from 'vitest';
import { attachmentHeader, parseRange, signDownloadLink, verifyDownloadLink } from '../../src/modules/backup/backup-download.ts';

const SECRET = 'unit-secret-0123456789abcdef0123456789';
const ID = '3f1c7a4e-2b6d-4c1e-9a55-0d2e7f3b8c91';

function paramsOf(url: string) {
  const u = new URL(url);
  return { path: u.pathname, expires: u.searchParams.get('expires')!, signature: u.searchParams.get('signature')! };
}

describe('signed download links', () => {
  const expiresAt = new Date('2026-03-01T10:15:00.000Z');
  const link = signDownloadLink('https://crm.example.com', SECRET, ID, expiresAt);
  const { path, expires, signature } = paramsOf(link.url);

  it('name the backup and the expiry under the public URL', () => {
    expect(path).toBe(`/downloads/backups/${ID}`);
    expect(Number(expires) * 1000).toBe(expiresAt.getTime());
    expect(link.expiresAt.toISOString()).toBe(expiresAt.toISOString());
  });

  it('are valid until they expire, and expired at the second they name', () => {
    expect(verifyDownloadLink(SECRET, ID, expires, signature, new Date('2026-03-01T10:14:59Z'))).toBe('valid');
    expect(verifyDownloadLink(SECRET, ID, expires, signature, new Date('2026-03-01T10:15:00Z'))).toBe('expired');
  });

  it('reject another backup id, a moved expiry, another secret, a changed or malformed signature', () => {
    const now = new Date('2026-03-01T10:00:00Z');
    const otherId = ID.replace(/1$/, '2');
    expect(verifyDownloadLink(SECRET, otherId, expires, signature, now)).toBe('invalid');
    expect(verifyDownloadLink(SECRET, ID, String(Number(expires) + 3600), signature, now)).toBe('invalid');
    expect(verifyDownloadLink(`${SECRET}x`, ID, expires, signature, now)).toBe('invalid');
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    expect(verifyDownloadLink(SECRET, ID, expires, flipped, now)).toBe('invalid');
    expect(verifyDownloadLink(SECRET, ID, expires, signature.slice(1), now)).toBe('invalid');
    expect(verifyDownloadLink(SECRET, ID, undefined, signature, now)).toBe('invalid');
    expect(verifyDownloadLink(SECRET, ID, ['1', '2'], signature, now)).toBe('invalid');
    expect(verifyDownloadLink(SECRET, ID, '-1', signature, now)).toBe('invalid');
  });
});

describe('parseRange', () => {
  it.each([
    ['bytes=0-99', { kind: 'range', range: { start: 0, end: 99 } }],
    ['bytes=100-', { kind: 'range', range: { start: 100, end: 999 } }],
    ['bytes=-10', { kind: 'range', range: { start: 990, end: 999 } }],
    ['bytes=-5000', { kind: 'range', range: { start: 0, end: 999 } }],
    ['bytes=900-5000', { kind: 'range', range: { start: 900, end: 999 } }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=5-2', { kind: 'none' }],
    ['bytes=0-1,5-6', { kind: 'none' }],
    ['items=0-1', { kind: 'none' }],
    ['bytes=-', { kind: 'none' }],
    [undefined, { kind: 'none' }],
  ])('%s of 1000 bytes', (header, expected) => {
    expect(parseRange(header, 1000)).toEqual(expected);
  });
});

describe('attachmentHeader', () => {
  it('quotes a safe name and escapes anything else', () => {
    expect(attachmentHeader('crm-backup-acme-20260101T000000Z.zip')).toBe(
      `attachment; filename="crm-backup-acme-20260101T000000Z.zip"; filename*=UTF-8''crm-backup-acme-20260101T000000Z.zip`,
    );
    expect(attachmentHeader('a"b\\ü.zip')).toBe(`attachment; filename="a_b__.zip"; filename*=UTF-8''a%22b%5C%C3%BC.zip`);
  });
});
