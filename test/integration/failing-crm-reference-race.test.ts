import { describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import { holdLock } from '../support/lock-holder.ts';
import { codeOf, type GraphQLResponse } from '../support/test-app.ts';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';

const CREATE_CONTACT = 'mutation($input: ContactInput!) { createContact(input: $input) { id } }';
const CREATE_DEAL = 'mutation($input: DealInput!) { createDeal(input: $input) { id } }';
const UPDATE_DEAL = 'mutation($id: ID!, $input: DealInput!) { updateDeal(id: $id, input: $input) { id contact { id } } }';

/**
 * References are checked before the write. A referenced contact deleted between the check and the write makes
 * the foreign key fail instead: the interleaving is forced by a separate session that has deleted the contact
 * but not yet committed. The check still sees the contact, the write's foreign key check waits for that session,
 * and the commit lands in between.
 */
describe('a reference deleted between the check and the write', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({}, (ready) => ({ t, org } = ready));

  const newContact = async (label: string): Promise<string> => {
    const res = await t.gql<{ createContact: { id: string } }>(org.admin.token, CREATE_CONTACT, { input: { firstName: label } });
    return res.data!.createContact.id;
  };

  /** Runs `write` while the contact's deletion is in flight, commits the deletion once the write waits for it. */
  const raceWithDeletion = async <T>(contactId: string, write: () => Promise<T>): Promise<T> => {
    const holder = await holdLock(t.db.url, (client) =>
      client.query('delete from contacts where organization_id = $1 and id = $2', [org.organizationId, contactId]),
    );
    let pending: Promise<T> | undefined;
    try {
      pending = write();
      // Waiting here proves the reference check passed: only the write's foreign key check waits for the deletion.
      await holder.waiters(1);
    } finally {
      await holder.release();
    }
    return pending;
  };

  const expectBadContactId = (res: GraphQLResponse<unknown>) => {
    expect(res.status).toBe(200);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe('contactId');
    expect(res.errors?.[0]?.message).toMatch(/contact of your organization/);
  };

  it('answers BAD_USER_INPUT naming contactId when creating, and creates nothing', async () => {
    const contactId = await newContact('Vanishing');
    const res = await raceWithDeletion(contactId, () => t.gql(org.admin.token, CREATE_DEAL, { input: { name: 'Raced deal', contactId } }));
    expectBadContactId(res);
    const deals = await t.db.pool.query('select 1 from deals where organization_id = $1 and name = $2', [org.organizationId, 'Raced deal']);
    expect(deals.rowCount).toBe(0);
  });

  it('answers BAD_USER_INPUT naming contactId when updating, and leaves the record as it was', async () => {
    const created = await t.gql<{ createDeal: { id: string } }>(org.admin.token, CREATE_DEAL, { input: { name: 'Kept deal' } });
    const dealId = created.data!.createDeal.id;
    const contactId = await newContact('Vanishing too');
    const res = await raceWithDeletion(contactId, () =>
      t.gql(org.admin.token, UPDATE_DEAL, { id: dealId, input: { name: 'Renamed deal', contactId } }),
    );
    expectBadContactId(res);
    const deal = await t.db.pool.query('select name, contact_id from deals where id = $1', [dealId]);
    expect(deal.rows).toEqual([{ name: 'Kept deal', contact_id: null }]);
  });
});
