import { beforeAll, describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';

type Page = { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: { id: string; firstName: string }[] };
const TOTAL = 257;

/**
 * Keyset pagination by (created_at, id): every record exactly once, in a stable order, whatever the page
 * size, including records that share a creation instant (the id breaks the tie).
 */
describe('paging through a module', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  let other: TestOrg;
  let expected: string[];
  useOrgApp({ orgs: 2 }, (ready) => ({ t, org, other } = ready));
  beforeAll(async () => {
    // Fast setup through SQL: groups of up to 7 records share a created_at, to exercise the tie-breaker.
    await t.db.pool.query(
      `insert into contacts (organization_id, owner_id, first_name, created_at, updated_at)
       select $1, $2, 'c' || lpad(g::text, 3, '0'),
              timestamptz '2026-01-01 00:00:00Z' + (g / 7) * interval '1 second',
              timestamptz '2026-01-01 00:00:00Z'
       from generate_series(1, $3::int) g`,
      [org.organizationId, org.standard.userId, TOTAL],
    );
    await t.db.pool.query(
      `insert into contacts (organization_id, first_name, created_at) select $1, 'foreign', now() from generate_series(1, 30)`,
      [other.organizationId],
    );
    const { rows } = await t.db.pool.query<{ id: string }>(
      'select id from contacts where organization_id = $1 order by created_at, id',
      [org.organizationId],
    );
    expected = rows.map((r) => r.id);
  });

  const page = async (first: number | null, after: string | null) => {
    const res = await t.gql<{ contacts: Page }>(
      org.standard.token,
      'query($first: Int, $after: String) { contacts(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id firstName } } }',
      { first, after },
    );
    expect(res.errors).toBeUndefined();
    return res.data!.contacts;
  };

  async function pageThrough(first: number | null): Promise<{ ids: string[]; sizes: number[] }> {
    const ids: string[] = [];
    const sizes: number[] = [];
    let after: string | null = null;
    for (let i = 0; i < 100; i++) {
      const p = await page(first, after);
      expect(p.totalCount).toBe(TOTAL);
      ids.push(...p.nodes.map((n) => n.id));
      sizes.push(p.nodes.length);
      if (!p.pageInfo.hasNextPage) {
        expect(p.pageInfo.endCursor).toBe(p.nodes.length ? p.pageInfo.endCursor : null);
        return { ids, sizes };
      }
      expect(p.pageInfo.endCursor).toEqual(expect.any(String));
      after = p.pageInfo.endCursor;
    }
    throw new Error('did not reach the last page');
  }

  it.each([
    [100, [100, 100, 57]],
    [50, [50, 50, 50, 50, 50, 7]],
    [7, undefined],
    [1000, [100, 100, 57]],
  ])('returns every record exactly once in (created_at, id) order with first: %i', async (first, sizes) => {
    const result = await pageThrough(first);
    expect(result.ids).toEqual(expected);
    expect(new Set(result.ids).size).toBe(TOTAL);
    if (sizes) expect(result.sizes).toEqual(sizes);
  });

  it('defaults to 20 and caps first at 100', async () => {
    expect((await page(null, null)).nodes).toHaveLength(20);
    const capped = await page(101, null);
    expect(capped.nodes).toHaveLength(100);
    expect(capped.pageInfo.hasNextPage).toBe(true);
    expect((await page(100_000, null)).nodes.map((n) => n.id)).toEqual(expected.slice(0, 100));
  });

  it('is stable: the same cursor gives the same page, and a new record created meanwhile lands at the end', async () => {
    const first = await page(30, null);
    const again = await page(30, first.pageInfo.endCursor);
    const res = await t.gql<{ createContact: { id: string } }>(org.admin.token, 'mutation { createContact(input: { firstName: "late" }) { id } }');
    const late = res.data!.createContact.id;
    try {
      const repeat = await page(30, first.pageInfo.endCursor);
      expect(repeat.nodes).toEqual(again.nodes);
      expect(repeat.totalCount).toBe(TOTAL + 1);
      let after: string | null = null;
      const ids: string[] = [];
      do {
        const p: Page = await page(100, after);
        ids.push(...p.nodes.map((n) => n.id));
        after = p.pageInfo.hasNextPage ? p.pageInfo.endCursor : null;
      } while (after);
      expect(ids).toEqual([...expected, late]);
    } finally {
      await t.db.pool.query('delete from contacts where id = $1', [late]);
    }
  });

  it('counts and lists only the viewer’s organization', async () => {
    const res = await t.gql<{ contacts: Page }>(other.admin.token, '{ contacts(first: 100) { totalCount nodes { id firstName } } }');
    expect(res.data!.contacts.totalCount).toBe(30);
    expect(res.data!.contacts.nodes.every((n) => n.firstName === 'foreign')).toBe(true);
  });

  it('pages the other modules the same way', async () => {
    await t.db.pool.query(
      `insert into accounts (organization_id, name, created_at) select $1, 'a' || g, timestamptz '2026-01-01Z' + (g / 3) * interval '1 ms'
       from generate_series(1, 205) g`,
      [org.organizationId],
    );
    const ids: string[] = [];
    let after: string | null = null;
    do {
      const res: { data?: { accounts: Page } } = await t.gql<{ accounts: Page }>(
        org.admin.token,
        'query($after: String) { accounts(first: 100, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }',
        { after },
      );
      expect(res.data!.accounts.totalCount).toBe(205);
      ids.push(...res.data!.accounts.nodes.map((n) => n.id));
      after = res.data!.accounts.pageInfo.hasNextPage ? res.data!.accounts.pageInfo.endCursor : null;
    } while (after);
    const { rows } = await t.db.pool.query<{ id: string }>('select id from accounts where organization_id = $1 order by created_at, id', [
      org.organizationId,
    ]);
    expect(ids).toEqual(rows.map((r) => r.id));
  });
});
