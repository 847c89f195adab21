import { beforeAll, describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import { createRecords, crmSnapshot, type OrgRecords, type RunningTestApp } from '../support/foundation-helpers.ts';
import type { GraphQLResponse } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

const MODULES = [
  { noun: 'lead', Noun: 'Lead', key: 'leadId', list: 'leads', input: { firstName: 'X' } },
  { noun: 'contact', Noun: 'Contact', key: 'contactId', list: 'contacts', input: { firstName: 'X' } },
  { noun: 'account', Noun: 'Account', key: 'accountId', list: 'accounts', input: { name: 'X' } },
  { noun: 'deal', Noun: 'Deal', key: 'dealId', list: 'deals', input: { name: 'X' } },
] as const;
const RANDOM_ID = '0b7e1f3c-5d2a-4c8e-9f1a-2b3c4d5e6f70';

/**
 * Every read and write is confined to the viewer's organization. Another organization's id behaves exactly
 * like an id that does not exist: NOT_FOUND (or BAD_USER_INPUT naming the field when it is a reference in an
 * input), never FORBIDDEN (which would confirm the id exists), never data, and nothing changes.
 */
describe('organization isolation of CRM records', () => {
  let t: RunningTestApp;
  let a: TestOrg;
  let b: TestOrg;
  let aRec: OrgRecords;
  let bRec: OrgRecords;
  useOrgApp({ orgs: 2 }, (ready) => ({ t, org: a, other: b } = ready));
  beforeAll(async () => {
    aRec = await createRecords(t.gql, a.admin.token, 'Alpha');
    bRec = await createRecords(t.gql, b.admin.token, 'Bravo');
  });

  /** No data, a single error with that code, and the same message a random unknown id gets. */
  function expectRefused(res: GraphQLResponse<unknown>, code: string): void {
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual([code]);
    const data = res.data as Record<string, unknown> | null | undefined;
    for (const value of Object.values(data ?? {})) expect(value).toBeNull();
    expect(JSON.stringify(res)).not.toMatch(/Alpha/);
  }

  describe.each(MODULES)('$noun', ({ noun, Noun, key, input }) => {
    for (const role of ['admin', 'standard'] as const) {
      it(`answers NOT_FOUND to ${role === 'admin' ? 'an ADMIN' : 'a STANDARD user'} of another organization for get, update and delete; nothing changes`, async () => {
        const token = b[role].token;
        const foreignId = aRec[key];
        const before = await crmSnapshot(t.db.pool);
        const get = await t.gql(token, `query($id: ID!) { ${noun}(id: $id) { id } }`, { id: foreignId });
        expectRefused(get, 'NOT_FOUND');
        const update = await t.gql(token, `mutation($id: ID!, $input: ${Noun}Input!) { update${Noun}(id: $id, input: $input) { id } }`, {
          id: foreignId,
          input,
        });
        expectRefused(update, 'NOT_FOUND');
        const del = await t.gql(token, `mutation($id: ID!) { delete${Noun}(id: $id) }`, { id: foreignId });
        expectRefused(del, 'NOT_FOUND');
        expect(await crmSnapshot(t.db.pool)).toEqual(before);

        // Indistinguishable from an id that exists nowhere.
        const unknown = await t.gql(token, `mutation($id: ID!) { delete${Noun}(id: $id) }`, { id: RANDOM_ID });
        expect(unknown.errors?.[0]?.message).toBe(del.errors?.[0]?.message);
        expect(get.errors?.[0]?.message).toBe(`${noun} not found`);
      });
    }

    it(`refuses an ownerId of another organization on create${Noun} and update${Noun} (BAD_USER_INPUT, ownerId)`, async () => {
      const before = await crmSnapshot(t.db.pool);
      const create = await t.gql(b.admin.token, `mutation($input: ${Noun}Input!) { create${Noun}(input: $input) { id } }`, {
        input: { ...input, ownerId: a.admin.userId },
      });
      expectRefused(create, 'BAD_USER_INPUT');
      expect(create.errors?.[0]?.extensions?.field).toBe('ownerId');
      expect(create.errors?.[0]?.message).toMatch(/^ownerId: /);
      const update = await t.gql(b.admin.token, `mutation($id: ID!, $input: ${Noun}Input!) { update${Noun}(id: $id, input: $input) { id } }`, {
        id: bRec[key],
        input: { ownerId: a.standard.userId },
      });
      expectRefused(update, 'BAD_USER_INPUT');
      expect(update.errors?.[0]?.extensions?.field).toBe('ownerId');
      expect(await crmSnapshot(t.db.pool)).toEqual(before);
    });

    it(`lists only the viewer's own ${noun}s`, async () => {
      const list = MODULES.find((m) => m.noun === noun)!.list;
      for (const [org, own, foreign] of [
        [a, aRec, bRec],
        [b, bRec, aRec],
      ] as const) {
        const res = await t.gql<Record<string, { totalCount: number; nodes: { id: string }[] }>>(
          org.standard.token,
          `{ ${list}(first: 100) { totalCount nodes { id } } }`,
        );
        expect(res.errors).toBeUndefined();
        const ids = res.data![list]!.nodes.map((n) => n.id);
        expect(ids).toContain(own[key]);
        expect(ids).not.toContain(foreign[key]);
        expect(res.data![list]!.totalCount).toBe(ids.length);
      }
    });
  });

  it.each([
    ['createContact', 'accountId', 'ContactInput', () => ({ firstName: 'X', accountId: aRec.accountId })],
    ['createDeal', 'accountId', 'DealInput', () => ({ name: 'X', accountId: aRec.accountId })],
    ['createDeal', 'contactId', 'DealInput', () => ({ name: 'X', contactId: aRec.contactId })],
  ])('%s refuses a %s of another organization (BAD_USER_INPUT naming the field)', async (mutation, field, type, input) => {
    const before = await crmSnapshot(t.db.pool);
    const res = await t.gql(b.admin.token, `mutation($input: ${type}!) { ${mutation}(input: $input) { id } }`, { input: input() });
    expectRefused(res, 'BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe(field);
    expect(res.errors?.[0]?.message).toMatch(new RegExp(`^${field}: `));
    expect(await crmSnapshot(t.db.pool)).toEqual(before);
  });

  it.each([
    ['updateContact', 'accountId', 'ContactInput', 'contactId', () => aRec.accountId],
    ['updateDeal', 'accountId', 'DealInput', 'dealId', () => aRec.accountId],
    ['updateDeal', 'contactId', 'DealInput', 'dealId', () => aRec.contactId],
  ] as const)('%s refuses an own record pointing at another organization through %s', async (mutation, field, type, key, foreign) => {
    const before = await crmSnapshot(t.db.pool);
    const res = await t.gql(b.admin.token, `mutation($id: ID!, $input: ${type}!) { ${mutation}(id: $id, input: $input) { id } }`, {
      id: bRec[key],
      input: { [field]: foreign() },
    });
    expectRefused(res, 'BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe(field);
    expect(await crmSnapshot(t.db.pool)).toEqual(before);
  });

  it('never resolves a relation into another organization, even if a row points there', async () => {
    const insert = 'insert into contacts (organization_id, owner_id, account_id, first_name) values ($1, $2, $3, $4) returning id';
    const crossed = [b.organizationId, a.admin.userId, aRec.accountId, 'Crossed'];
    // The composite keys (organization_id, account_id / owner_id) refuse such a row ...
    await expect(t.db.pool.query(insert, crossed)).rejects.toMatchObject({ code: '23503' });
    // ... so only a superuser skipping the key triggers could make one; the loaders must still not cross the boundary.
    const client = await t.db.pool.connect();
    let rows: { id: string }[];
    try {
      await client.query('begin');
      await client.query('set local session_replication_role = replica');
      rows = (await client.query<{ id: string }>(insert, crossed)).rows;
      await client.query('commit');
    } finally {
      client.release();
    }
    try {
      const res = await t.gql<{ contact: { account: unknown; owner: unknown } }>(
        b.admin.token,
        'query($id: ID!) { contact(id: $id) { account { id name } owner { id email } } }',
        { id: rows[0]!.id },
      );
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ contact: { account: null, owner: null } });
    } finally {
      await t.db.pool.query('delete from contacts where id = $1', [rows[0]!.id]);
    }
  });

  it("shows an organization's activity stream to its own admins only", async () => {
    await t.app.services.activity.record({ organizationId: a.organizationId, kind: 'test.alpha', summary: 'alpha only' });
    const res = await t.gql<{ activityStream: { nodes: { kind: string }[] } }>(b.admin.token, '{ activityStream(first: 100) { nodes { kind } } }');
    expect(res.errors).toBeUndefined();
    expect(res.data!.activityStream.nodes.map((n) => n.kind)).not.toContain('test.alpha');
    const own = await t.gql<{ activityStream: { nodes: { kind: string }[] } }>(a.admin.token, '{ activityStream(first: 100) { nodes { kind } } }');
    expect(own.data!.activityStream.nodes.map((n) => n.kind)).toContain('test.alpha');
  });
});

describe('notifications are their user’s own', () => {
  let t: RunningTestApp;
  let a: TestOrg;
  let b: TestOrg;
  let aAdminNote: string;
  useOrgApp({ orgs: 2 }, (ready) => ({ t, org: a, other: b } = ready));
  beforeAll(async () => {
    const [row] = await t.app.services.notifications.notify([a.admin.userId], {
      organizationId: a.organizationId,
      kind: 'backup.completed',
      title: 'Alpha secret title',
    });
    aAdminNote = row!.id;
  });

  const readAt = async (id: string) =>
    (await t.db.pool.query<{ read_at: Date | null }>('select read_at from notifications where id = $1', [id])).rows[0]!.read_at;

  it.each([
    ['an admin of another organization', () => b.admin.token],
    ['a STANDARD user of the same organization', () => a.standard.token],
  ])('are invisible to %s', async (_label, token) => {
    const res = await t.gql<{ notifications: { id: string }[] }>(token(), '{ notifications(first: 100) { id title } }');
    expect(res.errors).toBeUndefined();
    expect(res.data!.notifications).toEqual([]);
  });

  it.each([
    ['an admin of another organization', () => b.admin.token],
    ['a STANDARD user of the same organization', () => a.standard.token],
  ])('cannot be marked read by %s, by id or with "all"', async (_label, token) => {
    const byId = await t.gql<{ markNotificationsRead: number }>(token(), 'mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }', {
      ids: [aAdminNote],
    });
    expect(byId.data).toEqual({ markNotificationsRead: 0 });
    const all = await t.gql<{ markNotificationsRead: number }>(token(), 'mutation { markNotificationsRead }');
    expect(all.data).toEqual({ markNotificationsRead: 0 });
    expect(await readAt(aAdminNote)).toBeNull();
  });

  it('are visible to and markable by their own user', async () => {
    const res = await t.gql<{ notifications: { id: string; title: string }[] }>(a.admin.token, '{ notifications { id title } }');
    expect(res.data!.notifications).toEqual([{ id: aAdminNote, title: 'Alpha secret title' }]);
    // An empty list marks nothing (only an absent list means "all").
    const none = await t.gql(a.admin.token, 'mutation { markNotificationsRead(ids: []) }');
    expect(none.data).toEqual({ markNotificationsRead: 0 });
    expect(await readAt(aAdminNote)).toBeNull();
    const mark = await t.gql(a.admin.token, 'mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }', { ids: [aAdminNote] });
    expect(mark.data).toEqual({ markNotificationsRead: 1 });
    expect(await readAt(aAdminNote)).toBeInstanceOf(Date);
  });
});
