import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../src/graphql/connection.ts';
import type { TestOrg } from '../support/factories.ts';
import { createRecords, crmSnapshot, type OrgRecords, type RunningTestApp } from '../support/foundation-helpers.ts';
import type { GraphQLResponse } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

type Noun = 'Lead' | 'Contact' | 'Account' | 'Deal';
const KEY: Record<Noun, keyof OrgRecords> = { Lead: 'leadId', Contact: 'contactId', Account: 'accountId', Deal: 'dealId' };
const LONG = (n: number) => 'x'.repeat(n + 1);
const UNKNOWN_ID = '6f1d2c3b-4a59-4e8f-8a7b-9c0d1e2f3a4b';

/** [mutation type, input, field, message fragment]; each is sent to createX and, when it applies, updateX. */
const BAD_FIELDS: [Noun, Record<string, unknown>, string, RegExp, { createOnly?: boolean }?][] = [
  ['Lead', { email: 'not-an-email' }, 'email', /valid email/],
  ['Lead', { email: 'a@b' }, 'email', /valid email/],
  ['Lead', { firstName: LONG(200) }, 'firstName', /at most 200 characters/],
  ['Lead', { notes: LONG(10_000) }, 'notes', /at most 10000 characters/],
  ['Lead', { ownerId: 'not-a-uuid' }, 'ownerId', /user of your organization/],
  ['Lead', { ownerId: UNKNOWN_ID }, 'ownerId', /user of your organization/],
  ['Contact', { email: 'jane@@example.com' }, 'email', /valid email/],
  ['Contact', { phone: LONG(50) }, 'phone', /at most 50 characters/],
  ['Contact', { address: LONG(1000) }, 'address', /at most 1000 characters/],
  ['Contact', { accountId: 'acc-1' }, 'accountId', /account of your organization|record of your organization/],
  ['Contact', { accountId: UNKNOWN_ID }, 'accountId', /account of your organization/],
  ['Account', { name: LONG(200) }, 'name', /at most 200 characters/],
  ['Account', { domain: LONG(253) }, 'domain', /at most 253 characters/],
  ['Account', { name: null }, 'name', /must not be empty/],
  ['Account', { name: '   ' }, 'name', /must not be empty/],
  ['Account', {}, 'name', /is required/, { createOnly: true }],
  ['Account', { industry: 'IT' }, 'name', /is required/, { createOnly: true }],
  ['Deal', { amount: -1 }, 'amount', /greater than or equal to 0/],
  ['Deal', { amount: -0.01 }, 'amount', /greater than or equal to 0/],
  ['Deal', { amount: 'NaN' }, 'amount', /amount/],
  ['Deal', { amount: '12' }, 'amount', /amount/],
  ['Deal', { currency: 'usd' }, 'currency', /ISO 4217/],
  ['Deal', { currency: 'US$' }, 'currency', /ISO 4217/],
  ['Deal', { currency: 'DOLLARS' }, 'currency', /ISO 4217/],
  ['Deal', { closeDate: '2026-02-30' }, 'closeDate', /YYYY-MM-DD/],
  ['Deal', { closeDate: '2026-13-01' }, 'closeDate', /YYYY-MM-DD/],
  ['Deal', { closeDate: '30/06/2026' }, 'closeDate', /YYYY-MM-DD/],
  ['Deal', { closeDate: '2026-06-30T00:00:00Z' }, 'closeDate', /YYYY-MM-DD/],
  ['Deal', { contactId: UNKNOWN_ID }, 'contactId', /contact of your organization/],
  ['Deal', { name: '' }, 'name', /must not be empty/],
  ['Deal', { stage: 'won' }, 'name', /is required/, { createOnly: true }],
];

describe('bad input on CRM mutations', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  let rec: OrgRecords;
  useOrgApp({}, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    rec = await createRecords(t.gql, org.admin.token, 'Own');
  });

  function expectBadInput(res: GraphQLResponse<unknown>, field: string, rule: RegExp): void {
    expect(res.errors, JSON.stringify(res)).toHaveLength(1);
    const error = res.errors![0]!;
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.extensions?.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.message).toMatch(rule);
    expect(res.data ?? null).toBeNull();
  }

  describe.each(BAD_FIELDS)('%s %o', (noun, input, field, rule) => {
    it(`create${noun} answers BAD_USER_INPUT naming ${field}; nothing written`, async () => {
      const before = await crmSnapshot(t.db.pool);
      // Accounts and deals need a name on create: give one unless the name is what is being tested.
      const base = (noun === 'Account' || noun === 'Deal') && field !== 'name' ? { name: 'Valid name' } : {};
      const res = await t.gql(org.standard.token, `mutation($input: ${noun}Input!) { create${noun}(input: $input) { id } }`, {
        input: { ...base, ...input },
      });
      expectBadInput(res, field, rule);
      expect(await crmSnapshot(t.db.pool)).toEqual(before);
    });

  });

  describe.each(BAD_FIELDS.filter((c) => !c[4]?.createOnly))('%s %o', (noun, input, field, rule) => {
    it(`update${noun} answers BAD_USER_INPUT naming ${field}; nothing changed`, async () => {
      const before = await crmSnapshot(t.db.pool);
      const res = await t.gql(org.admin.token, `mutation($id: ID!, $input: ${noun}Input!) { update${noun}(id: $id, input: $input) { id } }`, {
        id: rec[KEY[noun]],
        input,
      });
      expectBadInput(res, field, rule);
      expect(await crmSnapshot(t.db.pool)).toEqual(before);
    });
  });

  it('reports the first bad field of several and writes none of the good ones', async () => {
    const before = await crmSnapshot(t.db.pool);
    const res = await t.gql(org.admin.token, 'mutation($id: ID!, $input: DealInput!) { updateDeal(id: $id, input: $input) { id } }', {
      id: rec.dealId,
      input: { stage: 'changed', amount: -5 },
    });
    expectBadInput(res, 'amount', /greater than or equal to 0/);
    expect(await crmSnapshot(t.db.pool)).toEqual(before);
  });

  it('refuses a non-finite amount written as a JSON number (1e400 → Infinity)', async () => {
    const before = await crmSnapshot(t.db.pool);
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${org.admin.token}` },
      body: '{"query":"mutation($input: DealInput!) { createDeal(input: $input) { id } }","variables":{"input":{"name":"Inf","amount":1e400}}}',
    });
    const body = (await res.json()) as GraphQLResponse<unknown>;
    expectBadInput(body, 'amount', /amount/);
    expect(await crmSnapshot(t.db.pool)).toEqual(before);
  });

  it('answers a wrongly typed literal with GRAPHQL_VALIDATION_FAILED (not INTERNAL_SERVER_ERROR); nothing written', async () => {
    const before = await crmSnapshot(t.db.pool);
    const res = await t.gql(org.admin.token, 'mutation { createDeal(input: { name: "Lit", amount: "abc" }) { id } }');
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(res.errors?.[0]?.message).toMatch(/Float/);
    expect(await crmSnapshot(t.db.pool)).toEqual(before);
  });

  describe.each(['Lead', 'Contact', 'Account', 'Deal'] as const)('%s ids', (noun) => {
    const lower = noun.toLowerCase();
    const input = noun === 'Account' || noun === 'Deal' ? { name: 'Renamed' } : { firstName: 'Renamed' };

    it.each([
      ['an unknown id', UNKNOWN_ID],
      ['a non-UUID id', 'not-a-uuid'],
      ['an empty id', ''],
      ['an id with SQL in it', "1' or '1'='1"],
    ])(`${lower}, update${noun} and delete${noun} answer NOT_FOUND (not 500) for %s; nothing changed`, async (_label, id) => {
      const before = await crmSnapshot(t.db.pool);
      const get = await t.gql(org.admin.token, `query($id: ID!) { ${lower}(id: $id) { id } }`, { id });
      const update = await t.gql(org.admin.token, `mutation($id: ID!, $input: ${noun}Input!) { update${noun}(id: $id, input: $input) { id } }`, {
        id,
        input,
      });
      const del = await t.gql(org.admin.token, `mutation($id: ID!) { delete${noun}(id: $id) }`, { id });
      for (const res of [get, update, del]) {
        expect(res.status).toBe(200);
        expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
        expect(res.errors?.[0]?.message).toBe(`${lower} not found`);
      }
      expect(await crmSnapshot(t.db.pool)).toEqual(before);
    });
  });
});

describe('bad list arguments', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({}, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await createRecords(t.gql, org.admin.token, 'List');
  });

  const LISTS = ['leads', 'contacts', 'accounts', 'deals'];
  const forged = [
    ['garbage', 'not a cursor!'],
    ['base64 of plain text', Buffer.from('hello').toString('base64url')],
    ['a cursor of the wrong arity', encodeCursor(['2026-01-01T00:00:00.000Z'])],
    ['a cursor with a non-UUID id', encodeCursor(['2026-01-01T00:00:00.000Z', 'abc'])],
    ['a cursor with a non-date', encodeCursor(['yesterday', '6f1d2c3b-4a59-4e8f-8a7b-9c0d1e2f3a4b'])],
    ['a cursor with a loosely parsed date', encodeCursor(['1', '6f1d2c3b-4a59-4e8f-8a7b-9c0d1e2f3a4b'])],
    ['a cursor with an impossible date', encodeCursor(['2026-02-30T00:00:00.000Z', '6f1d2c3b-4a59-4e8f-8a7b-9c0d1e2f3a4b'])],
    ['a cursor with a number id', encodeCursor(['2026-01-01T00:00:00.000Z', 5])],
  ];

  describe.each(LISTS)('%s', (list) => {
    it.each([0, -1, -100])('refuses first: %i with BAD_USER_INPUT naming first', async (first) => {
      const res = await t.gql(org.admin.token, `query($first: Int) { ${list}(first: $first) { totalCount } }`, { first });
      expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
      expect(res.errors?.[0]?.message).toMatch(/^first: /);
      expect(res.data ?? null).toBeNull();
    });

    it.each(forged)('refuses after: %s with BAD_USER_INPUT naming after', async (_label, after) => {
      const res = await t.gql(org.admin.token, `query($after: String) { ${list}(after: $after) { nodes { id } } }`, { after });
      expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
      expect(res.errors?.[0]?.message).toMatch(/^after: /);
    });
  });

  it.each([0, -1])('refuses activityStream(first: %i) and a forged activity cursor', async (first) => {
    const res = await t.gql(org.admin.token, `{ activityStream(first: ${first}) { totalCount } }`);
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
    const cursor = await t.gql(org.admin.token, '{ activityStream(after: "xyz") { totalCount } }');
    expect(cursor.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('refuses notifications(first: 0) and non-UUID ids to markNotificationsRead', async () => {
    const list = await t.gql(org.admin.token, '{ notifications(first: 0) { id } }');
    expect(list.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
    const mark = await t.gql(org.admin.token, 'mutation { markNotificationsRead(ids: ["nope"]) }');
    expect(mark.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'ids' });
  });
});
