import { describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import type { TestApp } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

const CONTACT_FIELDS = 'id firstName lastName email phone jobTitle address notes createdAt updatedAt account { id name } owner { id email role } retention { state retentionEndsAt deletesAt maskedAt legalHold }';
const DEAL_FIELDS = 'id name amount currency stage closeDate account { id } contact { id firstName } owner { id }';

describe('CRM records through GraphQL', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({}, (ready) => ({ t, org } = ready));

  it('creates, reads, updates and deletes a contact linked to an account', async () => {
    const account = await t.gql<{ createAccount: { id: string; name: string; owner: { id: string } } }>(
      org.standard.token,
      'mutation { createAccount(input: { name: "Acme Pte Ltd", domain: "acme.example.com", industry: "Retail" }) { id name owner { id } } }',
    );
    expect(account.errors).toBeUndefined();
    const accountId = account.data!.createAccount.id;
    // The creator owns what they create unless told otherwise.
    expect(account.data!.createAccount.owner.id).toBe(org.standard.userId);

    const input = {
      firstName: 'Jane',
      lastName: 'Tan',
      email: 'jane.tan@example.com',
      phone: '+65 6123 4567',
      jobTitle: 'CFO',
      address: '1 Raffles Place\nSingapore 048616',
      notes: '=SUM(A1) is kept as typed',
      accountId,
      ownerId: org.admin.userId,
    };
    const created = await t.gql<{ createContact: Record<string, unknown> & { id: string; createdAt: string; updatedAt: string } }>(
      org.standard.token,
      `mutation($input: ContactInput!) { createContact(input: $input) { ${CONTACT_FIELDS} } }`,
      { input },
    );
    expect(created.errors).toBeUndefined();
    const contact = created.data!.createContact;
    const { accountId: _a, ownerId: _o, ...plain } = input;
    expect(contact).toMatchObject({
      ...plain,
      account: { id: accountId, name: 'Acme Pte Ltd' },
      owner: { id: org.admin.userId, email: org.admin.email, role: 'ADMIN' },
      retention: { state: 'ACTIVE', retentionEndsAt: null, deletesAt: null, maskedAt: null, legalHold: false },
    });
    expect(contact.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const read = await t.gql<{ contact: unknown }>(org.admin.token, `query($id: ID!) { contact(id: $id) { ${CONTACT_FIELDS} } }`, { id: contact.id });
    expect(read.data!.contact).toEqual(contact);

    // Absent fields stay, null clears, given fields change, updatedAt moves. As the ADMIN: the contact is the
    // ADMIN's now, and only its owner or an ADMIN may change its owner (API.md §6 "Rules").
    const updated = await t.gql<{ updateContact: Record<string, unknown> }>(
      org.admin.token,
      `mutation($id: ID!, $input: ContactInput!) { updateContact(id: $id, input: $input) { ${CONTACT_FIELDS} } }`,
      { id: contact.id, input: { jobTitle: 'CEO', phone: null, accountId: null, ownerId: null } },
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateContact).toMatchObject({ firstName: 'Jane', email: input.email, jobTitle: 'CEO', phone: null, account: null, owner: null });
    expect(new Date(updated.data!.updateContact.updatedAt as string).getTime()).toBeGreaterThanOrEqual(new Date(contact.updatedAt).getTime());
    expect(updated.data!.updateContact.createdAt).toBe(contact.createdAt);

    const { rows } = await t.db.pool.query('select first_name, job_title, phone, account_id, owner_id, organization_id from contacts where id = $1', [contact.id]);
    expect(rows[0]).toEqual({ first_name: 'Jane', job_title: 'CEO', phone: null, account_id: null, owner_id: null, organization_id: org.organizationId });

    const deleted = await t.gql(org.standard.token, 'mutation($id: ID!) { deleteContact(id: $id) }', { id: contact.id });
    expect(deleted.data).toEqual({ deleteContact: true });
    const { rowCount } = await t.db.pool.query('select 1 from contacts where id = $1', [contact.id]);
    expect(rowCount).toBe(0);
    const again = await t.gql(org.standard.token, 'mutation($id: ID!) { deleteContact(id: $id) }', { id: contact.id });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('creates a deal with an amount, currency, date and both relations, and trims what has a format', async () => {
    const account = await t.gql<{ createAccount: { id: string } }>(org.admin.token, 'mutation { createAccount(input: { name: "Beta" }) { id } }');
    const contact = await t.gql<{ createContact: { id: string } }>(org.admin.token, 'mutation { createContact(input: { firstName: "Ken" }) { id } }');
    const res = await t.gql<{ createDeal: Record<string, unknown> }>(
      org.admin.token,
      `mutation($input: DealInput!) { createDeal(input: $input) { ${DEAL_FIELDS} } }`,
      {
        input: {
          name: 'Renewal 2026',
          amount: 12_500.5,
          currency: ' SGD ',
          stage: 'proposal',
          closeDate: '2028-02-29',
          accountId: account.data!.createAccount.id.toUpperCase(),
          contactId: contact.data!.createContact.id,
        },
      },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.createDeal).toMatchObject({
      name: 'Renewal 2026',
      amount: 12_500.5,
      currency: 'SGD',
      stage: 'proposal',
      closeDate: '2028-02-29',
      account: { id: account.data!.createAccount.id },
      contact: { id: contact.data!.createContact.id, firstName: 'Ken' },
      owner: { id: org.admin.userId },
    });
    const zero = await t.gql<{ createDeal: { amount: number } }>(org.admin.token, 'mutation { createDeal(input: { name: "Free", amount: 0 }) { amount } }');
    expect(zero.data!.createDeal.amount).toBe(0);
  });

  it('creates and updates a lead, keeping text exactly as typed', async () => {
    const notes = '  leading and trailing spaces, ünïcødé, emoji 🎉, "quotes", <tags>  ';
    const res = await t.gql<{ createLead: { id: string; notes: string; email: string; company: string } }>(
      org.standard.token,
      'mutation($notes: String) { createLead(input: { firstName: "Ali", email: " ali@example.com ", company: "Gamma", notes: $notes }) { id notes email company } }',
      { notes },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.createLead).toMatchObject({ notes, email: 'ali@example.com', company: 'Gamma' });
    const upd = await t.gql<{ updateLead: { status: string; company: string } }>(
      org.standard.token,
      'mutation($id: ID!) { updateLead(id: $id, input: { status: "qualified" }) { status company } }',
      { id: res.data!.createLead.id },
    );
    expect(upd.data!.updateLead).toEqual({ status: 'qualified', company: 'Gamma' });
  });

  it('lists leads and contacts by retentionState; accounts and deals take first and after only', async () => {
    const lead = await t.gql<{ createLead: { id: string } }>(org.admin.token, 'mutation { createLead(input: { firstName: "Masked" }) { id } }');
    await t.gql(org.admin.token, 'mutation { createLead(input: { firstName: "Active" }) { id } }');
    await t.app.services.pool.query("update leads set retention_state = 'MASKED', masked_at = now() where id = $1", [lead.data!.createLead.id]);
    const masked = await t.gql<{ leads: { nodes: { id: string; retention: { state: string } }[] }; contacts: { totalCount: number } }>(
      org.admin.token,
      '{ leads(retentionState: MASKED, first: 100) { nodes { id retention { state } } } contacts(retentionState: MASKED) { totalCount } }',
    );
    expect(masked.errors).toBeUndefined();
    expect(masked.data!.leads.nodes).toEqual([{ id: lead.data!.createLead.id, retention: { state: 'MASKED' } }]);
    expect(masked.data!.contacts.totalCount).toBe(0);
    const all = await t.gql<{ leads: { totalCount: number } }>(org.admin.token, '{ leads(first: 1) { totalCount } }');
    expect(all.data!.leads.totalCount).toBeGreaterThan(1);
    const refused = await t.gql(org.admin.token, '{ deals(retentionState: MASKED) { totalCount } }');
    expect(refused.errors?.[0]?.message).toMatch(/Unknown argument "retentionState"/);
  });

  it('lets a STANDARD user update and delete a record an ADMIN owns (ownership is not a permission here)', async () => {
    const res = await t.gql<{ createAccount: { id: string } }>(org.admin.token, 'mutation { createAccount(input: { name: "Owned by admin" }) { id } }');
    const id = res.data!.createAccount.id;
    const upd = await t.gql<{ updateAccount: { name: string } }>(org.standard.token, 'mutation($id: ID!) { updateAccount(id: $id, input: { name: "Renamed" }) { name } }', { id });
    expect(upd.data).toEqual({ updateAccount: { name: 'Renamed' } });
    const del = await t.gql(org.standard.token, 'mutation($id: ID!) { deleteAccount(id: $id) }', { id });
    expect(del.data).toEqual({ deleteAccount: true });
  });

  it('deleting an account unlinks its contacts and deals instead of failing', async () => {
    const acc = await t.gql<{ createAccount: { id: string } }>(org.admin.token, 'mutation { createAccount(input: { name: "Doomed" }) { id } }');
    const accountId = acc.data!.createAccount.id;
    const c = await t.gql<{ createContact: { id: string } }>(org.admin.token, 'mutation($a: ID) { createContact(input: { firstName: "Lin", accountId: $a }) { id } }', { a: accountId });
    const d = await t.gql<{ createDeal: { id: string } }>(org.admin.token, 'mutation($a: ID) { createDeal(input: { name: "D", accountId: $a }) { id } }', { a: accountId });
    expect((await t.gql(org.admin.token, 'mutation($id: ID!) { deleteAccount(id: $id) }', { id: accountId })).data).toEqual({ deleteAccount: true });
    const contact = await t.gql(org.admin.token, 'query($id: ID!) { contact(id: $id) { account { id } } }', { id: c.data!.createContact.id });
    expect(contact.data).toEqual({ contact: { account: null } });
    const deal = await t.gql(org.admin.token, 'query($id: ID!) { deal(id: $id) { account { id } } }', { id: d.data!.createDeal.id });
    expect(deal.data).toEqual({ deal: { account: null } });
  });

  it('resolves the owners of a whole page with one query (DataLoader), not one per record', async () => {
    await t.db.pool.query(
      `insert into leads (organization_id, owner_id, first_name) select $1, case when g % 2 = 0 then $2::uuid else $3::uuid end, 'L' || g from generate_series(1, 40) g`,
      [org.organizationId, org.admin.userId, org.standard.userId],
    );
    const before = await statementCount(t, 'from "users"');
    const res = await t.gql<{ leads: { nodes: { owner: { id: string } | null }[] } }>(org.admin.token, '{ leads(first: 40) { nodes { owner { id email } } } }');
    expect(res.errors).toBeUndefined();
    expect(res.data!.leads.nodes.filter((n) => n.owner).length).toBeGreaterThanOrEqual(40);
    expect((await statementCount(t, 'from "users"')) - before).toBe(1);
  });
});

/** How many statements containing a fragment the app's pool has run since the first call (a spy on pool.query). */
async function statementCount(t: TestApp, fragment: string): Promise<number> {
  const pool = t.app.services.pool as unknown as { __userQueries?: number; query: (...args: unknown[]) => unknown };
  if (pool.__userQueries === undefined) {
    pool.__userQueries = 0;
    const original = pool.query.bind(pool);
    pool.query = (...args: unknown[]) => {
      const first = args[0];
      const text = typeof first === 'string' ? first : (first as { text?: string } | undefined)?.text;
      if (text?.includes(fragment)) pool.__userQueries! += 1;
      return original(...args);
    };
  }
  return pool.__userQueries;
}
