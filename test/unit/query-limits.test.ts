import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { MAX_COST, MAX_DEPTH, queryLimitsRule } from '../../src/graphql/query-limits.ts';

const schema = buildSchema(`
  type Query { items(first: Int): ItemConnection! item: Item node: Node }
  type ItemConnection { nodes: [Item!]! totalCount: Int! }
  type Item { id: ID! name: String children(first: Int): ItemConnection! parent: Item }
  type Node { id: ID! next: Node }
`);

function check(query: string): { code?: unknown; message: string }[] {
  return validate(schema, parse(query), [...specifiedRules, queryLimitsRule]).map((e) => ({ code: e.extensions.code, message: e.message }));
}

/** `{ node { next { … { id } } } }`, `depth` fields deep. */
const nested = (depth: number) => `{ node { ${'next { '.repeat(depth - 2)}id${' }'.repeat(depth - 2)} } }`;

describe('queryLimitsRule', () => {
  it('accepts a query at the depth limit and refuses one level deeper', () => {
    expect(check(nested(MAX_DEPTH))).toEqual([]);
    expect(check(nested(MAX_DEPTH + 1))).toEqual([
      { code: 'QUERY_TOO_COMPLEX', message: `Query is nested ${MAX_DEPTH + 1} levels deep; the limit is ${MAX_DEPTH}` },
    ]);
  });

  it('counts depth through fragments and inline fragments', () => {
    const half = Math.ceil((MAX_DEPTH + 1) / 2);
    const query = `{ ...A } fragment A on Query { ${'node { '.repeat(half)} ... on Node { ${'next { '.repeat(MAX_DEPTH - half)} id ${'} '.repeat(MAX_DEPTH - half)} } ${'} '.repeat(half)} }`;
    expect(check(query)[0]?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('multiplies the cost of nested lists by their page size (`first`, else 20 for a connection)', () => {
    // items(first: 100) { nodes { children(first: 100) { nodes { id } } } } = 1 + (1 + (1 + (1 + 1) * 100)) * 100
    const cost = 1 + (1 + (1 + (1 + 1) * 100)) * 100;
    expect(cost).toBeGreaterThan(MAX_COST);
    const refused = check('{ items(first: 100) { nodes { children(first: 100) { nodes { id } } } } }');
    expect(refused).toEqual([{ code: 'QUERY_TOO_COMPLEX', message: `Query cost ${cost} exceeds the limit of ${MAX_COST}; ask for fewer items` }]);
    expect(check('{ items(first: 10) { nodes { children(first: 10) { nodes { id } } } } }')).toEqual([]);
    // Without `first`, a connection costs as a default page of 20: 1 + (1 + (1 + 2 * 20)) * 20 = 861.
    expect(check('{ items { nodes { children { nodes { id } } } } }')).toEqual([]);
  });

  it('caps the multiplier at 100 and costs a variable `first` at 100', () => {
    const huge = check('{ a: items(first: 1000000) { nodes { id } } }');
    expect(huge).toEqual([]);
    const variable = '{ items(first: $n) { nodes { children(first: $n) { nodes { id } } } } }';
    expect(check(`query($n: Int) ${variable}`)[0]?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('adds the cost of aliases', () => {
    const page = 'items(first: 100) { nodes { id name } }'; // 1 + (1 + 2) * 100 = 301
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${page}`).join(' ')} }`;
    expect(check(aliases(Math.floor(MAX_COST / 301)))).toEqual([]);
    expect(check(aliases(Math.floor(MAX_COST / 301) + 1))[0]?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('does not let an introspection field beside them switch the limits off', () => {
    const costly = '{ items(first: 100) { nodes { children(first: 100) { nodes { id } } } } }';
    expect(check(costly.replace('{ items', '{ __schema { queryType { name } } items'))[0]?.code).toBe('QUERY_TOO_COMPLEX');
    expect(check(nested(MAX_DEPTH + 1).replace('{ node', '{ __schema { queryType { name } } node'))[0]?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('leaves a fragment cycle to graphql-js (no stack overflow) and lets GraphiQL introspect', () => {
    const cycle = check('{ node { ...A } } fragment A on Node { next { ...B } } fragment B on Node { next { ...A } }');
    expect(cycle.some((e) => /Cannot spread fragment/.test(e.message))).toBe(true);
    expect(check('{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name } } } } } } } }')).toEqual([]);
  });
});
