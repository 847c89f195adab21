import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCsvRowFormatter, csvHeaderLine, UTF8_BOM } from '../../src/export/csv-writer.ts';
import { MODULE_SPECS, type CellValue } from '../../src/export/module-columns.ts';
import { MODULES, personalFields, RETENTION_MODULES } from '../../src/modules/crm/crm.modules.ts';
import { maskRecord, maskSqlExpressions } from '../../src/modules/retention/masking.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { archiveOf, importFile, wipe, zipEntry } from '../support/restore-helpers.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

/*
 * `Lead.website` (API.md §6) was added in one place, the lead's registry entry (plus its migration). This proves
 * every part that derives from the registry sees it: the GraphQL type and input, the archive (CSV and XLSX, right
 * after `title`), the import (and older files without the column), and masking (website is not personal).
 */

const SITE = 'https://acme.example.com/about';
const LEAD_FIELDS = 'id firstName title website status';

describe('Lead.website, from the registry to every derived part', () => {
  let t: TestApp & { db: { url: string } };
  let org: TestOrg;
  let storage: string;
  beforeAll(async () => {
    storage = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-website-test-'));
    t = await startTestApp({ env: { STORAGE_DIR: storage } });
    org = await createOrg(t.app);
  });
  afterAll(async () => {
    await t.close();
    await fs.rm(storage, { recursive: true, force: true });
  });

  const pool = () => t.app.services.pool;
  type LeadView = { id: string; firstName: string | null; title: string | null; website: string | null; status: string | null };
  async function gqlOk<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const res = await t.gql<T>(org.admin.token, query, variables);
    expect(res.errors).toBeUndefined();
    return res.data!;
  }
  const createLead = async (input: Record<string, unknown>) =>
    (await gqlOk<{ createLead: LeadView }>(`mutation($input: LeadInput!) { createLead(input: $input) { ${LEAD_FIELDS} } }`, { input })).createLead;
  const lead = async (id: string) => (await gqlOk<{ lead: LeadView }>(`query($id: ID!) { lead(id: $id) { ${LEAD_FIELDS} } }`, { id })).lead;
  const websiteOf = async (id: string) =>
    (await pool().query<{ website: string | null }>('select website from leads where id = $1', [id])).rows[0]?.website;

  /** A leads.csv as written before `website` existed: the archive's columns without it. */
  function olderLeadsCsv(rows: Record<string, CellValue>[]): Buffer {
    const columns = MODULE_SPECS.LEADS.columns.filter((c) => c.header !== 'website');
    const format = createCsvRowFormatter(columns);
    const body = rows.map((row) => format(columns.map((c) => row[c.header] ?? null))).join('');
    return Buffer.concat([UTF8_BOM, Buffer.from(csvHeaderLine(columns) + body)]);
  }

  it('is a field of the GraphQL type Lead and of LeadInput', async () => {
    const data = await gqlOk<{ type: { fields: { name: string }[] }; input: { inputFields: { name: string }[] } }>(
      '{ type: __type(name: "Lead") { fields { name } } input: __type(name: "LeadInput") { inputFields { name } } }',
      {},
    );
    expect(data.type.fields.map((f) => f.name)).toContain('website');
    expect(data.input.inputFields.map((f) => f.name)).toContain('website');
  });

  it('is set by createLead and updateLead, and cleared by null', async () => {
    const created = await createLead({ firstName: 'Ann', title: 'CTO', website: SITE });
    expect(created).toMatchObject({ title: 'CTO', website: SITE });
    const updated = await gqlOk<{ updateLead: LeadView }>(
      `mutation($id: ID!) { updateLead(id: $id, input: { website: "https://b.example" }) { ${LEAD_FIELDS} } }`,
      { id: created.id },
    );
    expect(updated.updateLead).toMatchObject({ firstName: 'Ann', title: 'CTO', website: 'https://b.example' });
    await gqlOk(`mutation($id: ID!) { updateLead(id: $id, input: { website: null }) { id } }`, { id: created.id });
    expect((await lead(created.id)).website).toBeNull();
  });

  it('is the archive column right after title, and comes back from the CSV and the XLSX', async () => {
    await wipe(pool(), org.organizationId);
    const { id } = await createLead({ firstName: 'Ann', title: 'CTO', website: SITE, status: 'New' });
    const zip = await archiveOf(t, org.organizationId);
    const [header, row] = (await zipEntry(zip, 'leads.csv')).toString('utf8').replace(/^\uFEFF/, '').split('\r\n');
    const headers = header!.split(',');
    expect(headers.indexOf('website')).toBe(headers.indexOf('title') + 1);
    expect(row!.split(',')[headers.indexOf('website')]).toBe(SITE);

    for (const ext of ['csv', 'xlsx']) {
      await wipe(pool(), org.organizationId);
      const job = await importFile(t, org.admin.token, { file: { data: await zipEntry(zip, `leads.${ext}`), name: `leads.${ext}` }, module: 'LEADS' });
      expect(job, ext).toMatchObject({ status: 'COMPLETED', created: 1, failed: 0 });
      expect(await lead(id), ext).toMatchObject({ title: 'CTO', website: SITE, status: 'New' });
    }
  });

  it('an older file without the column leaves website as it is on an existing lead, and null on a new one', async () => {
    await wipe(pool(), org.organizationId);
    const existing = await createLead({ firstName: 'Ann', title: 'CTO', website: SITE });
    const fresh = randomUUID();
    const row = (id: string, firstName: string) => ({
      id,
      firstName,
      title: 'CEO',
      ownerEmail: org.admin.email,
      createdAt: Date.UTC(2026, 0, 1),
      updatedAt: Date.UTC(2026, 0, 2),
    });
    const job = await importFile(t, org.admin.token, {
      file: { data: olderLeadsCsv([row(existing.id, 'Anna'), row(fresh, 'Bob')]), name: 'leads.csv' },
      module: 'LEADS',
    });
    expect(job).toMatchObject({ status: 'COMPLETED', created: 1, updated: 1, failed: 0, errors: [] });
    expect(await lead(existing.id)).toMatchObject({ firstName: 'Anna', title: 'CEO', website: SITE });
    expect(await lead(fresh)).toMatchObject({ firstName: 'Bob', title: 'CEO', website: null });
    expect(await websiteOf(fresh)).toBeNull();
  });

  it('is not personal: masking leaves it alone, while every personal field of the registry is masked', async () => {
    expect(personalFields('LEADS')).not.toContain('website');
    for (const module of RETENTION_MODULES) {
      const record: Record<string, string> = {};
      for (const field of Object.keys(MODULES[module].fields)) record[field] = `Value of ${field} 12`;
      record.website = SITE;
      const masked = maskRecord(module, record);
      for (const [field, spec] of Object.entries(MODULES[module].fields)) {
        if (spec.personal) expect(masked[field], `${module}.${field}`).not.toBe(record[field]);
        else expect(masked[field], `${module}.${field}`).toBe(record[field]);
      }
    }
    // The SQL side, on a real row: the personal columns change, website does not (it has no expression).
    const { id } = await createLead({ firstName: 'Ann', lastName: 'Tan', email: 'ann@example.com', phone: '+65 9123 4567', notes: 'n', website: SITE });
    const expressions = maskSqlExpressions('LEADS');
    expect(Object.keys(expressions)).not.toContain('website');
    await pool().query(`update leads set ${Object.entries(expressions).map(([c, e]) => `${c} = ${e}`).join(', ')} where id = $1`, [id]);
    const after = await lead(id);
    expect(after).toMatchObject({ firstName: 'A***', website: SITE });
    const columns = (await pool().query('select first_name, last_name, email, phone, notes from leads where id = $1', [id])).rows[0];
    expect(columns).toEqual({ first_name: 'A***', last_name: 'T***', email: 'a***@example.com', phone: '******67', notes: '***' });
  });
});
