import { getIntrospectionQuery } from 'graphql';
import { describe, expect, it } from 'vitest';
import { COUNT_COST, QUERY_COST } from '../../src/graphql/query-cost.ts';
import { MAX_COST, MAX_DEPTH } from '../../src/graphql/query-limits.ts';
import type { TestOrg } from '../support/factories.ts';
import { countRows, type RunningTestApp } from '../support/foundation-helpers.ts';
import { codeOf } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

/** `__type { fields { type { ofType { … } } } }`: the only unbounded nesting the schema offers is introspection's. */
function deepQuery(levels: number): string {
  let inner = 'name';
  for (let i = 0; i < levels; i++) inner = `ofType { ${inner} }`;
  return `query Deep { __type(name: "Query") { fields { type { ${inner} } } } }`;
}

/** A counted page of contacts with their relations: root + totalCount + nodes (1 + 100 × 6). */
const PAGE = 'contacts(first: 100) { totalCount nodes { id account { id name owner { id } } } }';
const PAGE_COST = 1 + QUERY_COST + 1 + COUNT_COST + 1 + 100 * 6;

/** Aliased counted pages: enough of them exceed MAX_COST while staying under the alias bound. */
function costlyQuery(aliases: number, page = PAGE): string {
  return `query Costly { ${Array.from({ length: aliases }, (_, i) => `c${i}: ${page}`).join(' ')} }`;
}

describe('query limits', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({}, (ready) => ({ t, org } = ready));

  it('accepts a query just within both limits', async () => {
    const res = await t.gql(org.admin.token, deepQuery(MAX_DEPTH - 4));
    expect(res.errors).toBeUndefined();
    const costly = await t.gql(org.admin.token, costlyQuery(Math.floor(MAX_COST / PAGE_COST)));
    expect(costly.errors).toBeUndefined();
  });

  it('refuses a too-deep query with QUERY_TOO_COMPLEX before executing it', async () => {
    const res = await t.gql(org.admin.token, deepQuery(MAX_DEPTH));
    expect(codeOf(res)).toBe('QUERY_TOO_COMPLEX');
    expect(res.errors?.[0]?.message).toMatch(new RegExp(`limit is ${MAX_DEPTH}`));
    expect(res.data).toBeUndefined();
  });

  it('refuses a too-costly query with QUERY_TOO_COMPLEX before executing it', async () => {
    const res = await t.gql(org.admin.token, costlyQuery(Math.floor(MAX_COST / PAGE_COST) + 1));
    expect(codeOf(res)).toBe('QUERY_TOO_COMPLEX');
    expect(res.errors?.[0]?.message).toMatch(/cost \d+ exceeds the limit/);
    expect(res.data).toBeUndefined();
  });

  it.each([
    ['too deep', deepQuery(MAX_DEPTH)],
    ['too costly', costlyQuery(Math.floor(MAX_COST / PAGE_COST) + 1)],
  ])('executes nothing of a document whose other operation is %s (a mutation beside it is not run)', async (_label, heavy) => {
    const before = await countRows(t.db.pool, 'accounts');
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${org.admin.token}` },
      body: JSON.stringify({
        query: `mutation Write { createAccount(input: { name: "must not exist" }) { id } } ${heavy}`,
        operationName: 'Write',
      }),
    });
    const body = (await res.json()) as { data?: unknown; errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(body.data).toBeUndefined();
    expect(await countRows(t.db.pool, 'accounts')).toBe(before);
  });

  it('cannot be switched off by selecting __schema beside a costly field', async () => {
    const res = await t.gql(org.admin.token, costlyQuery(Math.floor(MAX_COST / PAGE_COST) + 1).replace('query Costly { ', 'query Costly { __schema { queryType { name } } '));
    expect(codeOf(res)).toBe('QUERY_TOO_COMPLEX');
    expect(res.data).toBeUndefined();
  });

  it("still answers GraphiQL's full introspection query", async () => {
    const res = await t.gql<{ __schema: { types: unknown[] } }>(org.standard.token, getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }));
    expect(res.errors).toBeUndefined();
    expect(res.data!.__schema.types.length).toBeGreaterThan(20);
  });

  it('costs `first: $variable` at the largest page, since validation runs before variables are known', async () => {
    const aliases = Math.floor(MAX_COST / PAGE_COST) + 1;
    const query = costlyQuery(aliases, PAGE.replace('first: 100', 'first: $n')).replace('query Costly', 'query($n: Int)');
    const res = await t.gql(org.admin.token, query, { n: 1 });
    expect(codeOf(res)).toBe('QUERY_TOO_COMPLEX');
  });
});
