import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import type { TestOrg } from '../support/factories.ts';
import { applyPolicy, count, gqlOk, insertContacts, insertLeads, stopCronSweep } from '../support/retention-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';
import { codeOf, type startTestApp } from '../support/test-app.ts';

type Started = Awaited<ReturnType<typeof startTestApp>>;

const CREATED = '2025-01-01T00:00:00.000Z';
const MASKED_BY = '2025-02-15T00:00:00.000Z'; // 1 month later, before the 1-year deletion date

/**
 * A masked record's vault entry goes with the record, whoever deletes it (the database's triggers, migration 0007);
 * nothing else's entry goes with it. The sweep no longer scans the whole vault for orphans.
 */
describe('retention vault entries follow their records', () => {
  const clock = new ManualClock(CREATED);
  let t: Started;
  let org: TestOrg;
  let other: TestOrg;
  let contacts: string[];
  let leads: string[];
  let otherContact: string;
  const entries = (organizationId: string) =>
    count(t.db.pool, 'select count(*)::int as n from retention_vault where organization_id = $1', [organizationId]);
  const entryOf = (recordId: string) => count(t.db.pool, 'select count(*)::int as n from retention_vault where record_id = $1', [recordId]);
  const DELETE_CONTACT = `mutation($id: ID!) { deleteContact(id: $id) }`;

  useOrgApp({ clock, orgs: 2 }, (ready) => ({ t, org, other } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    const policy = { retentionPeriod: { value: 1, unit: 'MONTHS' }, action: 'MASK' as const, actionPeriod: { value: 1, unit: 'YEARS' } };
    contacts = await insertContacts(t.db.pool, org.organizationId, [1, 2, 3, 4].map(() => ({ createdAt: CREATED })));
    leads = await insertLeads(t.db.pool, org.organizationId, [1, 2].map(() => ({ createdAt: CREATED })));
    otherContact = (await insertContacts(t.db.pool, other.organizationId, [{ createdAt: CREATED }]))[0]!;
    // The policies' recompute gives the records inserted in SQL their dates.
    for (const o of [org, other]) {
      await applyPolicy(t.gql, t.db.pool, o.admin.token, { module: 'CONTACTS', ...policy });
      await applyPolicy(t.gql, t.db.pool, o.admin.token, { module: 'LEADS', ...policy });
    }
    clock.set(MASKED_BY);
    expect(await t.app.services.retention.sweep({ organizationId: org.organizationId })).toEqual({ expired: 0, masked: 6, deleted: 0 });
    expect(await t.app.services.retention.sweep({ organizationId: other.organizationId })).toEqual({ expired: 0, masked: 1, deleted: 0 });
  });

  it('an admin deleting a masked contact deletes its vault entry in the same transaction, and no other', async () => {
    expect(await entries(org.organizationId)).toBe(6);
    expect(await gqlOk<{ deleteContact: boolean }>(t.gql, org.admin.token, DELETE_CONTACT, { id: contacts[0] })).toEqual({ deleteContact: true });
    expect(await entryOf(contacts[0]!)).toBe(0);
    expect(await entries(org.organizationId)).toBe(5);
    expect(await entries(other.organizationId)).toBe(1);
  });

  it("deleting another organization's contact is refused and leaves its vault entry alone", async () => {
    const refused = await t.gql(org.admin.token, DELETE_CONTACT, { id: otherContact });
    expect(codeOf(refused)).toBe('NOT_FOUND');
    expect(await entryOf(otherContact)).toBe(1);
    expect(await count(t.db.pool, 'select count(*)::int as n from contacts where id = $1', [otherContact])).toBe(1);
  });

  it('any DELETE statement, several rows at once, takes exactly those records’ entries (module by module)', async () => {
    await t.db.pool.query('delete from contacts where organization_id = $1 and id = any($2::uuid[])', [org.organizationId, contacts.slice(1, 3)]);
    expect(await entries(org.organizationId)).toBe(3);
    expect(await entryOf(contacts[3]!)).toBe(1);
    await t.db.pool.query('delete from leads where organization_id = $1 and id = $2', [org.organizationId, leads[0]]);
    expect(await entryOf(leads[0]!)).toBe(0);
    expect(await entryOf(leads[1]!)).toBe(1);
    expect(await entries(org.organizationId)).toBe(2);
    expect(await entries(other.organizationId)).toBe(1);
  });

  it('a DELETE that matches no record deletes no entry', async () => {
    await t.db.pool.query('delete from contacts where organization_id = $1 and id = $2', [org.organizationId, otherContact]);
    expect(await entries(other.organizationId)).toBe(1);
    expect(await entries(org.organizationId)).toBe(2);
  });
});
