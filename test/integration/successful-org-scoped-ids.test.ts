import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import { useOrgApp, type OrgApp } from '../support/org-app.ts';
import { allRows, archiveOf, csvOf, importFile, moduleRows, wipe } from '../support/restore-helpers.ts';
import { codeOf } from '../support/test-app.ts';

/*
 * API.md §6 "Rules": record ids are unique per organization. Two organizations may hold the same id, an
 * organization's backup restores exactly into another one (a sandbox copy), and an import never reveals or
 * touches another organization's records.
 */
describe('ids unique per organization', () => {
  let t: OrgApp['t'];
  let a: TestOrg;
  let b: TestOrg;
  let storage: string;
  useOrgApp({ orgs: 2 }, (ready) => {
    ({ t, org: a, other: b, storageDir: storage } = ready);
  });

  const pool = () => t.app.services.pool;
  const gqlOk = async <T>(org: TestOrg, query: string, variables?: Record<string, unknown>): Promise<T> => {
    const res = await t.gql<T>(org.admin.token, query, variables);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!;
  };
  const create = async (org: TestOrg, type: string, input: Record<string, unknown>): Promise<string> => {
    const data = await gqlOk<Record<string, { id: string }>>(org, `mutation($input: ${type}Input!) { create${type}(input: $input) { id } }`, { input });
    return data[`create${type}`]!.id;
  };
  const contactRow = (id: string, firstName: string, extra: Record<string, string | number | null> = {}) => ({
    id,
    firstName,
    lastName: 'Tan',
    email: `${firstName.toLowerCase()}@example.com`,
    createdAt: Date.UTC(2026, 0, 1),
    updatedAt: Date.UTC(2026, 0, 2),
    ...extra,
  });
  const contactsCsv = (rows: Record<string, string | number | null>[]) => ({ file: { data: csvOf('CONTACTS', rows), name: 'contacts.csv' }, module: 'CONTACTS' });
  const contact = async (org: TestOrg, id: string) =>
    (await gqlOk<{ contact: { id: string; firstName: string | null } | null }>(org, 'query($id: ID!) { contact(id: $id) { id firstName } }', { id })).contact;

  it('lets two organizations hold records with the same id, each reading, changing and deleting only its own', async () => {
    const id = randomUUID();
    expect(await importFile(t, a.admin.token, contactsCsv([contactRow(id, 'Ann')]))).toMatchObject({ status: 'COMPLETED', created: 1, failed: 0 });
    expect(await importFile(t, b.admin.token, contactsCsv([contactRow(id, 'Bea')]))).toMatchObject({ status: 'COMPLETED', created: 1, failed: 0 });
    expect(await contact(a, id)).toEqual({ id, firstName: 'Ann' });
    expect(await contact(b, id)).toEqual({ id, firstName: 'Bea' });

    await gqlOk(a, 'mutation($id: ID!) { updateContact(id: $id, input: { firstName: "Ada" }) { id } }', { id });
    expect(await contact(b, id)).toEqual({ id, firstName: 'Bea' });
    await gqlOk(a, 'mutation($id: ID!) { deleteContact(id: $id) }', { id });
    const gone = await t.gql(a.admin.token, 'query($id: ID!) { contact(id: $id) { id } }', { id });
    expect(codeOf(gone)).toBe('NOT_FOUND');
    expect(await contact(b, id)).toEqual({ id, firstName: 'Bea' });
  });

  it("restores an organization's backup exactly into another organization (sandbox copy), twice, leaving the first as it was", async () => {
    await wipe(pool(), a.organizationId);
    await wipe(pool(), b.organizationId);
    // Owners travel as emails: the sandbox has users with the same emails (other user ids).
    await t.app.services.auth.createUser({ organizationId: b.organizationId, email: a.admin.email, role: 'ADMIN' });
    await t.app.services.auth.createUser({ organizationId: b.organizationId, email: a.standard.email, role: 'STANDARD' });
    const account = await create(a, 'Account', { name: 'Acme', domain: 'acme.example' });
    const ann = await create(a, 'Contact', { firstName: 'Ann', email: 'ann@example.com', accountId: account, ownerId: a.standard.userId });
    await create(a, 'Contact', { firstName: 'Bob', email: 'bob@example.com' });
    await create(a, 'Deal', { name: 'Big deal', amount: 1200.5, currency: 'EUR', accountId: account, contactId: ann });
    await create(a, 'Lead', { firstName: 'Lee', company: 'Lee & Co', website: 'https://lee.example' });
    const original = await allRows(pool(), a.organizationId);
    const zip = await archiveOf(t, a.organizationId);

    const first = await importFile(t, b.admin.token, { file: { data: zip, name: 'crm-backup.zip' } });
    expect(first).toMatchObject({ status: 'COMPLETED', processedRows: 5, created: 5, updated: 0, skipped: 0, failed: 0, errors: [] });
    expect(await allRows(pool(), b.organizationId)).toEqual(original);
    expect(await allRows(pool(), a.organizationId)).toEqual(original);
    // The copies' references and owners are the sandbox's own records and users.
    const { rows } = await pool().query(
      `select c.account_id, u.organization_id as owner_org from contacts c join users u on u.id = c.owner_id
        where c.organization_id = $1 and c.id = $2`,
      [b.organizationId, ann],
    );
    expect(rows).toEqual([{ account_id: account, owner_org: b.organizationId }]);

    const again = await importFile(t, b.admin.token, { file: { data: zip, name: 'crm-backup.zip' } });
    expect(again).toMatchObject({ status: 'COMPLETED', created: 0, updated: 5, failed: 0 });
    expect(await allRows(pool(), b.organizationId)).toEqual(original);
    expect(await allRows(pool(), a.organizationId)).toEqual(original);
  });

  it("a reference to another organization's record is a row error naming only the field; the job completes", async () => {
    await wipe(pool(), a.organizationId);
    const theirs = await create(b, 'Account', { name: 'Theirs' });
    const theirsBefore = await moduleRows(pool(), b.organizationId, 'ACCOUNTS');
    const good = randomUUID();
    const bad = randomUUID();
    const job = await importFile(t, a.admin.token, contactsCsv([contactRow(good, 'Ann'), contactRow(bad, 'Bob', { accountId: theirs })]));
    expect(job).toMatchObject({ status: 'COMPLETED', processedRows: 2, created: 1, failed: 1 });
    expect(job.errors).toEqual([{ file: 'contacts.csv', row: 3, message: expect.stringMatching(/^accountId: must be the id of an? account of your organization$/) }]);
    expect((await moduleRows(pool(), a.organizationId, 'CONTACTS')).map((r) => r.id)).toEqual([good]);
    expect(await moduleRows(pool(), b.organizationId, 'ACCOUNTS')).toEqual(theirsBefore);
  });

  it('the database refuses a reference or an owner across organizations, and deleting a record clears only references to it', async () => {
    const shared = randomUUID();
    for (const org of [a, b]) {
      await pool().query(`insert into accounts (organization_id, id, name) values ($1, $2, 'Shared id')`, [org.organizationId, shared]);
      await pool().query(`insert into contacts (organization_id, first_name, account_id) values ($1, 'Ref', $2)`, [org.organizationId, shared]);
    }
    const bOnly = await create(b, 'Account', { name: 'B only' });
    const crossRef = pool().query(`insert into contacts (organization_id, account_id) values ($1, $2)`, [a.organizationId, bOnly]);
    await expect(crossRef).rejects.toMatchObject({ code: '23503', constraint: 'contacts_account_id_fk' });
    const crossOwner = pool().query(`insert into leads (organization_id, owner_id) values ($1, $2)`, [a.organizationId, b.admin.userId]);
    await expect(crossOwner).rejects.toMatchObject({ code: '23503', constraint: 'leads_owner_id_fk' });

    await pool().query('delete from accounts where organization_id = $1 and id = $2', [a.organizationId, shared]);
    const refs = async (org: TestOrg) =>
      (await pool().query(`select organization_id, account_id from contacts where organization_id = $1 and first_name = 'Ref'`, [org.organizationId])).rows;
    expect(await refs(a)).toEqual([{ organization_id: a.organizationId, account_id: null }]);
    expect(await refs(b)).toEqual([{ organization_id: b.organizationId, account_id: shared }]);
  });
});
