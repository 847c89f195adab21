import { buildSchema, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { COUNT_COST, QUERY_COST, UNDECLARED_LIST_SIZE } from '../../src/graphql/query-cost.ts';
import { MAX_COST, MAX_DEPTH, MAX_ROOT_FIELD_ALIASES, queryLimitsRule } from '../../src/graphql/query-limits.ts';

const schema = buildSchema(`
  type Query { items(first: Int): ItemConnection! item: Item node: Node tags: [Tag!]! }
  type Mutation { touch: Int }
  type ItemConnection { nodes: [Item!]! totalCount: Int! }
  type Item { id: ID! name: String children(first: Int): ItemConnection! parent: Item tags: [Tag!]! labels: [String!]! }
  type Node { id: ID! next: Node }
  type Tag { id: ID! label: String }
`);

function check(query: string): { code?: unknown; message: string }[] {
  return validate(schema, parse(query), [...specifiedRules, queryLimitsRule]).map((e) => ({ code: e.extensions.code, message: e.message }));
}
const costMessage = (cost: number) => `Query cost ${cost} exceeds the limit of ${MAX_COST}; ask for fewer items`;
const refusedCost = (query: string) => /^Query cost (\d+) exceeds/.exec(check(query)[0]?.message ?? '')?.[1];
const aliases = (n: number, field: string) => Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ');

/** `{ node { next { … { id } } } }`, `depth` fields deep. */
const nested = (depth: number) => `{ node { ${'next { '.repeat(depth - 2)}id${' }'.repeat(depth - 2)} } }`;
const ROOT = 1 + QUERY_COST;

describe('queryLimitsRule', () => {
  it('accepts a query at the depth limit and refuses one level deeper', () => {
    expect(check(nested(MAX_DEPTH))).toEqual([]);
    expect(check(nested(MAX_DEPTH + 1))).toEqual([
      { code: 'QUERY_TOO_COMPLEX', message: `Query is nested ${MAX_DEPTH + 1} levels deep; the limit is ${MAX_DEPTH}` },
    ]);
  });

  it('counts depth through fragments and inline fragments', () => {
    // node (1) + MAX_DEPTH - 1 `next` + id: one level too deep, split over a named and an inline fragment
    const half = Math.ceil(MAX_DEPTH / 2);
    const query = `{ ...A } fragment A on Query { node { ${'next { '.repeat(half)} ... on Node { ${'next { '.repeat(MAX_DEPTH - 1 - half)} id ${'} '.repeat(MAX_DEPTH - 1 - half)} } ${'} '.repeat(half)} } }`;
    expect(check(query)[0]?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it("multiplies a connection's nodes by `first` (else 20), not its other fields", () => {
    // root (11) + nodes (1 + 100 × (id 1 + children 1 + nodes (1 + 100 × id 1)))
    const cost = ROOT + 1 + 100 * (1 + 1 + (1 + 100));
    const query = (n: number) => `{ items(first: ${n}) { nodes { id children(first: ${n}) { nodes { id } } } } }`;
    expect(check(query(100))).toEqual([]);
    expect(refusedCost(`{ ${aliases(2, query(100).slice(2, -2))} }`)).toBe(String(2 * cost));
    // Without `first`, a page of 20: 11 + (1 + 20 × (1 + 1 + 1 + 20)) = 472 per alias; 42 of them are over.
    const perAlias = ROOT + 1 + 20 * (1 + 1 + (1 + 20));
    expect(perAlias).toBe(472);
  });

  it('caps the multiplier at 100 and costs a variable `first` at 100', () => {
    expect(check('{ items(first: 1000000) { nodes { id } } }')).toEqual([]);
    const deep = (first: string) => `{ items(first: ${first}) { nodes { children(first: ${first}) { nodes { children(first: ${first}) { nodes { id } } } } } } }`;
    expect(check(deep('2'))).toEqual([]);
    expect(check(`query($n: Int) ${deep('$n')}`)[0]?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('costs `totalCount` like a query, since counting scans every matching row', () => {
    const perAlias = ROOT + 1 + COUNT_COST;
    const n = Math.floor(MAX_COST / perAlias) + 1;
    expect(n).toBeLessThanOrEqual(MAX_ROOT_FIELD_ALIASES); // so the cost refuses it, not the alias bound
    expect(check(`{ ${aliases(n - 1, 'items { totalCount }')} }`)).toEqual([]);
    expect(refusedCost(`{ ${aliases(n, 'items { totalCount }')} }`)).toBe(String(n * perAlias));
    const spread = `{ ${aliases(n, 'items { ...Count }')} } fragment Count on ItemConnection { totalCount }`;
    expect(refusedCost(spread)).toBe(String(n * perAlias));
  });

  it('bounds aliases of one root field, counted through fragments', () => {
    expect(check(`{ ${aliases(MAX_ROOT_FIELD_ALIASES, 'item { id }')} }`)).toEqual([]);
    const over = check(`{ ${aliases(MAX_ROOT_FIELD_ALIASES - 1, 'item { id }')} ...F ... on Query { b: item { id } } } fragment F on Query { c: item { id } }`);
    expect(over).toEqual([
      { code: 'QUERY_TOO_COMPLEX', message: `Query selects \`item\` more than ${MAX_ROOT_FIELD_ALIASES} times; the limit is ${MAX_ROOT_FIELD_ALIASES} per root field` },
    ]);
    expect(check(`mutation { ${aliases(MAX_ROOT_FIELD_ALIASES + 1, 'touch')} }`)[0]?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('costs nodes inside inline and named fragments like nodes written out', () => {
    // root + nodes (1 + 100 × (children 1 + nodes (1 + 100 × (id + name))))
    const cost = ROOT + 1 + 100 * (1 + 1 + 100 * 2);
    const plain = '{ items(first: 100) { nodes { children(first: 100) { nodes { id name } } } } }';
    const inline = '{ items(first: 100) { ... on ItemConnection { nodes { children(first: 100) { ... { nodes { ... on Item { id name } } } } } } } }';
    const named = '{ items(first: 100) { ...Page } } fragment Page on ItemConnection { nodes { children(first: 100) { ...Inner } } } fragment Inner on ItemConnection { nodes { ...Fields } } fragment Fields on Item { id name }';
    for (const query of [plain, inline, named]) expect(refusedCost(query), query).toBe(String(cost));
  });

  it('costs a spread fragment once per spread, and leaves a fragment cycle to graphql-js', () => {
    const twice = '{ items(first: 100) { nodes { children(first: 100) { ...P } a: children(first: 100) { ...P } } } } fragment P on ItemConnection { nodes { id } }';
    expect(refusedCost(twice)).toBe(String(ROOT + 1 + 100 * (2 * (1 + 1 + 100))));
    const cycle = check('{ node { ...A } } fragment A on Node { next { ...B } } fragment B on Node { next { ...A } }');
    expect(cycle.some((e) => /Cannot spread fragment/.test(e.message))).toBe(true);
  });

  it('stays fast on fragments that spread each other twice over (exponential when expanded)', () => {
    const levels = 40;
    const defs = Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ...F${i + 1} a${i}: item { id } ...F${i + 1} }`);
    const started = Date.now();
    const errors = check(`{ ...F0 } ${defs.join(' ')} fragment F${levels} on Query { node { id } }`);
    expect(errors[0]?.code).toBe('QUERY_TOO_COMPLEX');
    expect(Date.now() - started).toBeLessThan(5_000); // 2^40 expansions would never finish
  });

  it('gives a list without paging arguments its declared size', () => {
    // root + nodes (1 + 100 × (tags 1 + 100 × (id + label))): the old estimate costed `tags` as one item
    expect(refusedCost('{ items(first: 100) { nodes { tags { id label } } } }')).toBe(String(ROOT + 1 + 100 * (1 + UNDECLARED_LIST_SIZE * 2)));
    expect(check('{ items(first: 40) { nodes { tags { id label } } } }')).toEqual([]);
    // a list of scalars: each value counts
    expect(check('{ items(first: 100) { nodes { labels } } }')).toEqual([]);
    expect(refusedCost('{ items(first: 100) { nodes { labels b: labels } } }')).toBe(String(ROOT + 1 + 100 * 2 * UNDECLARED_LIST_SIZE));
  });

  it("costs introspection like any field: GraphiQL's query passes, an aliased __schema bomb does not", () => {
    expect(check(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true }))).toEqual([]);
    const types = 'types { name kind fields { name type { name kind ofType { name kind } } } }';
    const bomb = check(`{ __schema { ${aliases(500, types)} } }`);
    expect(bomb).toHaveLength(1);
    expect(bomb[0]).toMatchObject({ code: 'QUERY_TOO_COMPLEX', message: expect.stringMatching(/^Query cost \d+ exceeds/) });
    expect(check(`{ ${aliases(MAX_ROOT_FIELD_ALIASES + 1, '__schema { queryType { name } }')} }`)[0]?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('does not let an introspection field beside a costly one switch the limits off', () => {
    const costly = `{ ${aliases(2, 'items(first: 100) { nodes { children(first: 100) { nodes { id } } } }')} }`;
    expect(check(costly)[0]?.code).toBe('QUERY_TOO_COMPLEX');
    expect(check(costly.replace('{ a0', '{ __schema { queryType { name } } a0'))[0]?.code).toBe('QUERY_TOO_COMPLEX');
    expect(check(nested(MAX_DEPTH + 1).replace('{ node', '{ __schema { queryType { name } } node'))[0]?.code).toBe('QUERY_TOO_COMPLEX');
  });
});
