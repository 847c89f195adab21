import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createOrg, type TestOrg } from '../support/factories.ts';
import {
  archiveOf,
  csvOf,
  eventually,
  IMPORT_JOB_FIELDS,
  importFile,
  moduleRows,
  upload,
  waitForImport,
  wipe,
  zipEntry,
  type ImportJobView,
} from '../support/restore-helpers.ts';
import { useOrgApp, type OrgApp } from '../support/org-app.ts';
import { startTestApp, subscribe } from '../support/test-app.ts';

const DAY = 86_400_000;

describe('import semantics (POST /imports → job)', () => {
  let t: OrgApp['t'];
  let a: TestOrg;
  let b: TestOrg;
  let storage: string;
  useOrgApp({ orgs: 2 }, (ready) => {
    ({ t, org: a, other: b, storageDir: storage } = ready);
  });

  const pool = () => t.app.services.pool;
  const createContact = async (org: TestOrg, input: Record<string, unknown>): Promise<string> => {
    const res = await t.gql<{ createContact: { id: string } }>(org.admin.token, 'mutation($input: ContactInput!) { createContact(input: $input) { id } }', { input });
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.createContact.id;
  };
  const contactsCsv = (rows: Record<string, string | number | boolean | null>[], raw: string[] = []) => ({
    file: { data: csvOf('CONTACTS', rows, raw), name: 'contacts.csv' },
    module: 'CONTACTS',
  });
  const contactRow = (overrides: Record<string, string | number | boolean | null> = {}) => ({
    id: randomUUID(),
    firstName: 'Ann',
    lastName: 'Tan',
    email: 'ann@example.com',
    ownerEmail: a.admin.email,
    createdAt: Date.UTC(2026, 0, 1),
    updatedAt: Date.UTC(2026, 0, 2),
    legalHold: false,
    ...overrides,
  });
  const contactsOf = async (org: TestOrg) => moduleRows(pool(), org.organizationId, 'CONTACTS');

  it('upserts by id (creates what is missing, puts back what changed) and a second run ends in the same state', async () => {
    await wipe(pool(), a.organizationId);
    const ids = [];
    for (const name of ['Ann', 'Bob', 'Cai']) ids.push(await createContact(a, { firstName: name, email: `${name.toLowerCase()}@example.com` }));
    const backedUp = await contactsOf(a);
    const csv = await zipEntry(await archiveOf(t, a.organizationId), 'contacts.csv');
    await t.gql(a.admin.token, 'mutation($id: ID!) { updateContact(id: $id, input: { firstName: "Changed" }) { id } }', { id: ids[0] });
    await t.gql(a.admin.token, 'mutation($id: ID!) { deleteContact(id: $id) }', { id: ids[1] });

    const first = await importFile(t, a.admin.token, { file: { data: csv, name: 'contacts.csv' }, module: 'CONTACTS' });
    expect(first).toMatchObject({ status: 'COMPLETED', processedRows: 3, created: 1, updated: 2, skipped: 0, failed: 0, errors: [] });
    const restored = await contactsOf(a);
    expect(restored).toEqual(backedUp);

    const second = await importFile(t, a.admin.token, { file: { data: csv, name: 'contacts.csv' }, module: 'CONTACTS' });
    expect(second).toMatchObject({ status: 'COMPLETED', processedRows: 3, created: 0, updated: 3, failed: 0 });
    expect(await contactsOf(a)).toEqual(restored);
  });

  it('never touches or reveals a record of another organization: its id is simply a record of the importing one', async () => {
    await wipe(pool(), a.organizationId);
    const theirs = await createContact(b, { firstName: 'Theirs', email: 'theirs@example.com' });
    const theirsBefore = await contactsOf(b);
    const mine = contactRow();
    const job = await importFile(t, a.admin.token, contactsCsv([mine, contactRow({ id: theirs, firstName: 'Hijack' })]));
    expect(job).toMatchObject({ status: 'COMPLETED', processedRows: 2, created: 2, updated: 0, failed: 0, errors: [] });
    expect(await contactsOf(b)).toEqual(theirsBefore);
    const ours = await contactsOf(a);
    expect(ours.map((r) => r.id).sort()).toEqual([mine.id, theirs].sort());
    expect(ours.find((r) => r.id === theirs)).toMatchObject({ firstName: 'Hijack', ownerEmail: a.admin.email });
  });

  it('skips and counts records retention deleted for good (tombstones) and records masked here', async () => {
    await wipe(pool(), a.organizationId);
    const gone = randomUUID();
    await pool().query(`insert into tombstones (organization_id, module, record_id, reason) values ($1, 'CONTACTS', $2, 'retention')`, [a.organizationId, gone]);
    const masked = await createContact(a, { firstName: 'Jane', email: 'jane@example.com' });
    await pool().query(
      `update contacts set first_name = 'J***', email = 'j***@example.com', retention_state = 'MASKED', masked_at = now() where id = $1`,
      [masked],
    );
    const maskedBefore = (await contactsOf(a)).find((r) => r.id === masked);
    const fresh = contactRow();
    const job = await importFile(t, a.admin.token, contactsCsv([contactRow({ id: gone }), contactRow({ id: masked, firstName: 'Jane' }), fresh]));
    expect(job).toMatchObject({ status: 'COMPLETED', processedRows: 3, created: 1, updated: 0, skipped: 2, failed: 0, errors: [] });
    const after = await contactsOf(a);
    expect(after.map((r) => r.id).sort()).toEqual([fresh.id, masked].sort());
    expect(after.find((r) => r.id === masked)).toEqual(maskedBefore);
  });

  it('imports the good rows of a file with 10% bad rows and reports each bad one with file, row and reason', async () => {
    await wipe(pool(), a.organizationId);
    const rows = Array.from({ length: 39 }, (_v, i) => contactRow({ firstName: `Person ${i}`, email: `p${i}@example.com` }));
    rows[4] = contactRow({ email: 'not-an-email' }); // row 6
    rows[14] = contactRow({ id: 'xyz' }); // row 16
    rows[29] = contactRow({ ownerEmail: 'ghost@example.com' }); // row 31
    const job = await importFile(t, a.admin.token, contactsCsv(rows, ['a,b,c'])); // row 41: a damaged line
    expect(job).toMatchObject({ status: 'COMPLETED', processedRows: 40, created: 36, updated: 0, failed: 4 });
    expect(job.errors).toEqual([
      { file: 'contacts.csv', row: 6, message: 'email: must be a valid email address' },
      { file: 'contacts.csv', row: 16, message: 'id: must be a UUID (the record id)' },
      { file: 'contacts.csv', row: 31, message: 'ownerEmail: must be the email of a user of your organization' },
      { file: 'contacts.csv', row: 41, message: 'has 3 cells; the header has 16' },
    ]);
    const imported = new Set((await contactsOf(a)).map((r) => r.id));
    expect(imported.size).toBe(36);
    for (const [i, row] of rows.entries()) expect(imported.has(row.id as string), `row ${i + 2}`).toBe(![4, 14, 29].includes(i));
  });

  it('resolves references within the organization; a reference to a record retention deleted is cleared', async () => {
    await wipe(pool(), a.organizationId);
    const account = await t.gql<{ createAccount: { id: string } }>(a.admin.token, 'mutation { createAccount(input: { name: "Acme" }) { id } }');
    const accountId = account.data!.createAccount.id;
    const deletedContact = randomUUID();
    await pool().query(`insert into tombstones (organization_id, module, record_id, reason) values ($1, 'CONTACTS', $2, 'retention')`, [a.organizationId, deletedContact]);
    const theirAccount = (await t.gql<{ createAccount: { id: string } }>(b.admin.token, 'mutation { createAccount(input: { name: "Other" }) { id } }')).data!.createAccount.id;
    const deal = (overrides: Record<string, string | number | null>) => ({ id: randomUUID(), name: 'Deal', createdAt: 1, updatedAt: 2, ...overrides });
    const good = deal({ accountId, contactId: deletedContact, amount: 12.5, currency: 'SGD' });
    const job = await importFile(t, a.admin.token, {
      file: { data: csvOf('DEALS', [good, deal({ accountId: randomUUID() }), deal({ accountId: theirAccount })]), name: 'deals.csv' },
      module: 'deals',
    });
    expect(job).toMatchObject({ status: 'COMPLETED', created: 1, failed: 2 });
    expect(job.errors.map((e) => [e.row, e.message])).toEqual([
      [3, 'accountId: must be the id of a account of your organization'],
      [4, 'accountId: must be the id of a account of your organization'],
    ]);
    const [row] = await moduleRows(pool(), a.organizationId, 'DEALS');
    expect(row).toMatchObject({ id: good.id, accountId, contactId: null, amount: 12.5, currency: 'SGD' });
  });

  it('keeps masked rows masked, recomputes retention dates by the current policy and never releases a legal hold', async () => {
    await wipe(pool(), a.organizationId);
    const on = await t.gql(a.admin.token, 'mutation { setRetentionEnabled(enabled: true) { enabled } }');
    expect(on.errors).toBeUndefined();
    const policy = await t.gql(
      a.admin.token,
      `mutation { updateRetentionPolicy(input: { module: CONTACTS, enabled: true, basis: CREATED_AT,
         retentionPeriod: { value: 1, unit: YEARS }, action: MASK, actionPeriod: { value: 30, unit: DAYS } }) { enabled } }`,
    );
    expect(policy.errors).toBeUndefined();
    const held = await createContact(a, { firstName: 'Held', email: 'held@example.com' });
    await pool().query('update contacts set legal_hold = true where id = $1', [held]);
    const created = Date.now() - DAY;
    const bogus = Date.UTC(2099, 0, 1);
    const maskedRow = contactRow({ firstName: 'J***', email: 'j***@example.com', maskedAt: Date.UTC(2025, 5, 1), retentionEndsAt: bogus, deletesAt: bogus });
    const activeRow = contactRow({ createdAt: created, updatedAt: created, retentionEndsAt: bogus, deletesAt: bogus });
    const job = await importFile(t, a.admin.token, contactsCsv([maskedRow, activeRow, contactRow({ id: held, firstName: 'Held', legalHold: false })]));
    expect(job).toMatchObject({ status: 'COMPLETED', created: 2, updated: 1, failed: 0 });

    const dates = async (id: string) =>
      (
        await pool().query<{ state: string; ends: Date | null; deletes: Date | null; masked: Date | null; hold: boolean; first: string }>(
          `select retention_state as state, retention_ends_at as ends, deletes_at as deletes, masked_at as masked, legal_hold as hold, first_name as first
             from contacts where id = $1`,
          [id],
        )
      ).rows[0]!;
    // The dates come from retention's recompute job, enqueued with the import's completion.
    const expectedEnd = new Date(created);
    expectedEnd.setUTCFullYear(expectedEnd.getUTCFullYear() + 1);
    const active = await eventually(async () => {
      const d = await dates(activeRow.id);
      return d.ends ? d : undefined;
    }, 'retention dates of the imported contact');
    expect(active).toMatchObject({ state: 'ACTIVE', ends: expectedEnd, deletes: new Date(expectedEnd.getTime() + 30 * DAY), hold: false });
    const masked = await dates(maskedRow.id);
    expect(masked).toMatchObject({ state: 'MASKED', masked: new Date(Date.UTC(2025, 5, 1)), first: 'J***' });
    expect(masked.ends?.getTime()).not.toBe(bogus);
    expect((await dates(held)).hold).toBe(true);
    await t.gql(a.admin.token, 'mutation { setRetentionEnabled(enabled: false) { enabled } }');
  });

  it('records an activity event when the import completes (counts, no personal data)', async () => {
    await wipe(pool(), a.organizationId);
    const job = await importFile(t, a.admin.token, contactsCsv([contactRow(), contactRow({ email: 'bad' })]));
    const res = await t.gql<{ activityStream: { nodes: { kind: string; summary: string; subjectType: string; subjectId: string }[] } }>(
      a.admin.token,
      '{ activityStream(kinds: ["import.completed"], first: 5) { nodes { kind summary subjectType subjectId } } }',
    );
    const event = res.data!.activityStream.nodes.find((n) => n.subjectId === job.id);
    expect(event).toEqual({ kind: 'import.completed', subjectType: 'IMPORT', subjectId: job.id, summary: 'Import completed: 1 created, 0 updated, 0 skipped, 1 failed' });
  });

  it('reports progress through importJobUpdated, ending with the final counts', async () => {
    // An app of its own whose imports write batches of 10 and announce every one of them.
    const own = await startTestApp({ env: { STORAGE_DIR: storage }, overrides: { imports: { batchSize: 10, progressIntervalMs: 0 } } });
    try {
      const org = await createOrg(own.app);
      const res = await upload(own.url, org.admin.token, contactsCsv(Array.from({ length: 60 }, () => contactRow({ ownerEmail: org.admin.email }))));
      expect(res.status).toBe(202);
      const id = res.body.importId!;
      const sub = subscribe<{ importJobUpdated: ImportJobView }>(own.ws(org.admin.token), `subscription($id: ID!) { importJobUpdated(id: $id) { ${IMPORT_JOB_FIELDS} } }`, { id });
      const last = await sub.waitFor((e) => e.importJobUpdated.status === 'COMPLETED', 20_000);
      expect(last.importJobUpdated).toMatchObject({ id, status: 'COMPLETED', processedRows: 60, created: 60, failed: 0 });
      const counts = sub.events.map((e) => e.importJobUpdated.processedRows);
      expect(counts).toEqual([...counts].sort((x, y) => x - y));
      expect(sub.errorsSoFar()).toEqual([]);
      sub.dispose();
      expect(await waitForImport(own, org.admin.token, id)).toMatchObject({ status: 'COMPLETED', created: 60 });
    } finally {
      await own.close();
    }
  });

  it('restores a kept backup archive with restoreBackup (all modules, or the ones chosen)', async () => {
    await wipe(pool(), a.organizationId);
    await createContact(a, { firstName: 'Kept', email: 'kept@example.com' });
    await t.gql(a.admin.token, 'mutation { createLead(input: { firstName: "Lead", email: "lead@example.com" }) { id } }');
    const before = { contacts: await contactsOf(a), leads: await moduleRows(pool(), a.organizationId, 'LEADS') };
    const started = await t.gql<{ startManualBackup: { id: string } }>(a.admin.token, 'mutation { startManualBackup { id } }');
    expect(started.errors).toBeUndefined();
    const backupId = started.data!.startManualBackup.id;
    await eventually(async () => {
      const { rows } = await pool().query<{ status: string }>('select status from backups where id = $1', [backupId]);
      if (rows[0]?.status === 'FAILED') throw new Error('the backup failed');
      return rows[0]?.status === 'COMPLETED';
    }, 'the backup to complete', 60_000);

    await wipe(pool(), a.organizationId);
    const only = await t.gql<{ restoreBackup: ImportJobView & { backupId: string } }>(
      a.admin.token,
      `mutation($id: ID!) { restoreBackup(id: $id, modules: [LEADS]) { ${IMPORT_JOB_FIELDS} backupId } }`,
      { id: backupId },
    );
    expect(only.errors).toBeUndefined();
    expect(only.data!.restoreBackup).toMatchObject({ status: 'PENDING', module: 'LEADS', modules: ['LEADS'], backupId });
    expect(await waitForImport(t, a.admin.token, only.data!.restoreBackup.id)).toMatchObject({ status: 'COMPLETED', created: 1 });
    expect(await contactsOf(a)).toEqual([]);
    expect(await moduleRows(pool(), a.organizationId, 'LEADS')).toEqual(before.leads);

    const all = await t.gql<{ restoreBackup: ImportJobView }>(a.admin.token, `mutation($id: ID!) { restoreBackup(id: $id) { ${IMPORT_JOB_FIELDS} } }`, { id: backupId });
    expect(await waitForImport(t, a.admin.token, all.data!.restoreBackup.id)).toMatchObject({ status: 'COMPLETED', created: 1, updated: 1 });
    expect(await contactsOf(a)).toEqual(before.contacts);
    expect(await moduleRows(pool(), a.organizationId, 'LEADS')).toEqual(before.leads);
  });
});
