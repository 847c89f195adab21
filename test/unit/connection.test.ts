import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AppError } from '../../src/shared/app-error.ts';
import {
  decodeCursor,
  DEFAULT_PAGE,
  encodeCursor,
  MAX_PAGE,
  pageSize,
  signCursor,
  signedPage,
  toConnection,
  verifyCursor,
} from '../../src/graphql/connection.ts';

function badInputField(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError && e.code === 'BAD_USER_INPUT') return e.details.field as string;
    throw e;
  }
  return undefined;
}

describe('pageSize', () => {
  it('defaults to 20 and caps at 100', () => {
    expect(DEFAULT_PAGE).toBe(20);
    expect(MAX_PAGE).toBe(100);
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(null)).toBe(20);
    expect(pageSize(1)).toBe(1);
    expect(pageSize(100)).toBe(100);
    expect(pageSize(101)).toBe(100);
    expect(pageSize(2 ** 31 - 1)).toBe(100);
  });

  it.each([0, -1, -100])('refuses %i naming first', (first) => {
    expect(badInputField(() => pageSize(first))).toBe('first');
  });
});

describe('cursors', () => {
  it('round-trip any tuple of strings and numbers', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })), { minLength: 1, maxLength: 4 }), (parts) => {
        const normalised = parts.map((p) => (Object.is(p, -0) ? 0 : p));
        expect(decodeCursor(encodeCursor(parts), parts.length)).toEqual(normalised);
      }),
    );
  });

  it('are opaque URL-safe text', () => {
    expect(encodeCursor(['2026-01-01T00:00:00.000Z', 'id/with+chars?'])).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('treat null and undefined as "from the start"', () => {
    expect(decodeCursor(null, 2)).toBeUndefined();
    expect(decodeCursor(undefined, 2)).toBeUndefined();
  });

  it.each([
    ['not base64 JSON', '!!!'],
    ['empty', ''],
    ['JSON that is not an array', Buffer.from('{"a":1}').toString('base64url')],
    ['the wrong arity', encodeCursor(['a'])],
    ['nested values', Buffer.from('[["a"],1]').toString('base64url')],
    ['null inside', Buffer.from('[null,1]').toString('base64url')],
    ['a boolean inside', Buffer.from('[true,"x"]').toString('base64url')],
  ])('refuse %s naming after', (_label, cursor) => {
    expect(badInputField(() => decodeCursor(cursor, 2))).toBe('after');
  });

  it('never throw anything but BAD_USER_INPUT on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          decodeCursor(text, 2);
        } catch (e) {
          expect(e).toBeInstanceOf(AppError);
          expect((e as AppError).details.field).toBe('after');
        }
      }),
    );
  });
});

describe('toConnection', () => {
  const rows = [1, 2, 3, 4].map((n) => ({ id: `r${n}`, n }));

  it('uses the extra row only to tell there is a next page', async () => {
    const page = toConnection(rows, 3, (r) => r.id, (r) => [r.n], async () => 4);
    expect(page.nodes).toEqual(['r1', 'r2', 'r3']);
    expect(page.pageInfo).toEqual({ hasNextPage: true, endCursor: encodeCursor([3]) });
    expect(await page.totalCount).toBe(4);
  });

  it('has no next page and a null cursor on an empty page', () => {
    const page = toConnection([], 3, (r: { id: string }) => r.id, () => [0], async () => 0);
    expect(page.nodes).toEqual([]);
    expect(page.pageInfo).toEqual({ hasNextPage: false, endCursor: null });
  });

  it('counts only when totalCount is read', () => {
    let counted = 0;
    const page = toConnection(rows, 10, (r) => r.id, (r) => [r.n], async () => ++counted);
    expect(page.pageInfo.hasNextPage).toBe(false);
    expect(counted).toBe(0);
    void page.totalCount;
    expect(counted).toBe(1);
  });
});

describe('signed cursors', () => {
  const SECRET = 's'.repeat(32);
  const plain = encodeCursor(['2026-01-01T00:00:00.000Z', '6f1d2c3b-4a59-4e8f-8a7b-9c0d1e2f3a4b']);
  const signed = signCursor(SECRET, 'contacts', plain);

  it('give back the plain cursor they were signed over, and are URL-safe', () => {
    expect(signed).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(verifyCursor(SECRET, 'contacts', signed)).toBe(plain);
    expect(verifyCursor(SECRET, 'contacts', null)).toBeUndefined();
    expect(verifyCursor(SECRET, 'contacts', undefined)).toBeUndefined();
  });

  it.each([
    ['unsigned', plain],
    ['signed with another secret', signCursor('t'.repeat(32), 'contacts', plain)],
    ['signed for another list', signCursor(SECRET, 'leads', plain)],
    ['with a changed payload', signCursor(SECRET, 'contacts', plain).replace(/^./, (c) => (c === 'W' ? 'X' : 'W'))],
    ['with a truncated signature', signed.slice(0, -1)],
    ['with a signature of the wrong length', `${signed}AA`],
    ['empty', ''],
    ['a lone dot', '.'],
  ])('refuse a cursor %s naming after', (_label, cursor) => {
    expect(badInputField(() => verifyCursor(SECRET, 'contacts', cursor))).toBe('after');
  });

  it('refuse any other text with BAD_USER_INPUT and nothing else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expect(badInputField(() => verifyCursor(SECRET, 'contacts', text))).toBe('after');
      }),
    );
  });

  it('wrap a list: the list reads the plain cursor, the client gets a signed endCursor, totalCount stays lazy', async () => {
    let counted = 0;
    let seen: string | undefined = 'unset';
    const page = await signedPage(SECRET, 'contacts', signed, async (after) => {
      seen = after;
      return toConnection([{ n: 1 }, { n: 2 }], 1, (r) => r.n, (r) => [r.n], async () => ++counted);
    });
    expect(seen).toBe(plain);
    expect(counted).toBe(0);
    expect(verifyCursor(SECRET, 'contacts', page.pageInfo.endCursor)).toBe(encodeCursor([1]));
    expect(await page.totalCount).toBe(1);
  });
});
