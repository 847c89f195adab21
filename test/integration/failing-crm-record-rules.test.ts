import { beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { TestOrg } from '../support/factories.ts';
import { gqlOk, insertContacts, stopCronSweep } from '../support/retention-helpers.ts';
import { codeOf, type TestApp } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

const UPDATE_OWNER = `mutation($id: ID!, $ownerId: ID) { updateContact(id: $id, input: { ownerId: $ownerId }) { id owner { id } } }`;

const row = async (pool: pg.Pool, id: string) => (await pool.query('select * from contacts where id = $1', [id])).rows[0] as Record<string, unknown>;

describe('ownership (API.md §6 Rules): a STANDARD user gives records away, never takes them', () => {
  let t: TestApp;
  let org: TestOrg;
  let mine: string;
  let theirs: string;
  useOrgApp({}, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    [mine = '', theirs = ''] = await insertContacts(t.app.services.pool, org.organizationId, [
      { createdAt: '2026-01-01T00:00:00Z', ownerId: org.standard.userId },
      { createdAt: '2026-01-01T00:00:00Z', ownerId: org.admin.userId },
    ]);
  });

  it.each([
    ['themselves', () => org.standard.userId],
    ['no one', () => null],
  ])('refuses setting the owner of a record someone else owns to %s (FORBIDDEN), nothing changes', async (_label, owner) => {
    const before = await row(t.app.services.pool, theirs);
    const res = await t.gql(org.standard.token, UPDATE_OWNER, { id: theirs, ownerId: owner() });
    expect(codeOf(res), JSON.stringify(res.errors)).toBe('FORBIDDEN');
    expect(await row(t.app.services.pool, theirs)).toEqual(before);
  });

  it('still lets a STANDARD user edit a record someone else owns when the owner stays', async () => {
    const res = await gqlOk<{ updateContact: { owner: { id: string } } }>(t.gql, org.standard.token, UPDATE_OWNER, { id: theirs, ownerId: org.admin.userId });
    expect(res.updateContact.owner.id).toBe(org.admin.userId);
  });

  it('lets a STANDARD owner give a record away, which then cannot be taken back', async () => {
    const given = await gqlOk<{ updateContact: { owner: { id: string } } }>(t.gql, org.standard.token, UPDATE_OWNER, { id: mine, ownerId: org.admin.userId });
    expect(given.updateContact.owner.id).toBe(org.admin.userId);
    const back = await t.gql(org.standard.token, UPDATE_OWNER, { id: mine, ownerId: org.standard.userId });
    expect(codeOf(back)).toBe('FORBIDDEN');
    expect((await row(t.app.services.pool, mine)).owner_id).toBe(org.admin.userId);
  });

  it('lets an ADMIN reassign any record', async () => {
    const res = await gqlOk<{ updateContact: { owner: { id: string } } }>(t.gql, org.admin.token, UPDATE_OWNER, { id: theirs, ownerId: org.standard.userId });
    expect(res.updateContact.owner.id).toBe(org.standard.userId);
  });
});
