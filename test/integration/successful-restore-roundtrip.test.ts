import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrmModuleName } from '../../src/modules/crm/crm.modules.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import {
  archiveOf,
  fileBase,
  IMPORT_JOB_FIELDS,
  RESTORE_MODULES,
  upload,
  wipe,
  zipEntry,
  type ImportJobView,
  type UploadOptions,
} from '../support/restore-helpers.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

/*
 * backup → wipe → restore gives back the very records, through each way in: the module CSVs, the module XLSX
 * files, and the whole ZIP. Records are written straight into the database, so every column can take the awkward
 * values a real CRM ends up with (dates before 1900 or after 9999, -0, the largest double, text that looks like
 * a formula, CR/LF/tab, control characters, emoji, CJK, XML-looking text, empty strings next to nulls).
 */

const PIECES = ['=', '+', '-', '@', "'", '\t', '\r', '\n', '\r\n', '"', ',', ';', '😀👍🏽', '中文字', '한국어', 'Ümlaut', '_x0041_', '&amp;', '<b>', ' ', '\u0001', '\u007f', '\uFFFE'];
const piece = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom(...PIECES));
const text = (max: number) => fc.array(piece, { maxLength: 5 }).map((parts) => parts.join('')).filter((s) => s.length <= max);
const optText = (max: number) => fc.option(text(max), { nil: null });
const requiredText = text(200).filter((s) => s.trim() !== '');
const email = fc.option(
  fc
    .tuple(fc.stringMatching(/^[-=+'a-z0-9._]{1,8}$/), fc.stringMatching(/^[a-z0-9]{1,8}$/), fc.stringMatching(/^[a-z]{2,4}$/))
    .map(([local, domain, tld]) => `${local}@${domain}.${tld}`),
  { nil: null },
);
// Epoch ms from 4685 BC to about AD 255,000 (PostgreSQL's and JavaScript's ranges overlap there), mostly ordinary.
const instant = fc.oneof(
  fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) }),
  fc.integer({ min: -210_000_000_000_000, max: 8_000_000_000_000_000 }),
  fc.constantFrom(Date.UTC(1899, 11, 31), Date.UTC(1900, 0, 1), Date.UTC(1, 0, 1), Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
);
const amount = fc.option(
  fc.oneof(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 5e-324, Number.MAX_VALUE, 0.1, 1e21)),
  { nil: null },
);
const calendarDay = fc.option(
  fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  { nil: null },
);
const owner = fc.constantFrom<'admin' | 'standard' | null>('admin', 'standard', null);
const audit = { owner, createdAt: instant, updatedAt: instant };
const retention = { maskedAt: fc.option(instant, { nil: null }), legalHold: fc.boolean() };
const ref = fc.option(fc.nat(), { nil: null });

const accountArb = fc.record({ ...audit, name: requiredText, domain: optText(253), industry: optText(100), phone: optText(50), address: optText(1000) });
const contactArb = fc.record({
  ...audit,
  ...retention,
  first_name: optText(200),
  last_name: optText(200),
  email,
  phone: optText(50),
  job_title: optText(200),
  address: optText(1000),
  notes: optText(10_000),
  account: ref,
});
const leadArb = fc.record({
  ...audit,
  ...retention,
  first_name: optText(200),
  last_name: optText(200),
  email,
  phone: optText(50),
  company: optText(200),
  title: optText(200),
  website: optText(200),
  status: optText(50),
  source: optText(100),
  notes: optText(10_000),
});
const dealArb = fc.record({
  ...audit,
  name: requiredText,
  amount,
  currency: fc.option(fc.stringMatching(/^[A-Z]{3}$/), { nil: null }),
  stage: optText(50),
  close_date: calendarDay,
  account: ref,
  contact: ref,
});
const dataset = fc.record({
  accounts: fc.array(accountArb, { maxLength: 3 }),
  contacts: fc.array(contactArb, { maxLength: 4 }),
  deals: fc.array(dealArb, { maxLength: 3 }),
  leads: fc.array(leadArb, { maxLength: 4 }),
});
type Dataset = typeof dataset extends fc.Arbitrary<infer T> ? T : never;

/*
 * The oracle: API.md §5's columns written out here, not read from the implementation. `id` first, then the fields
 * of the GraphQL type in order (relations as accountId, contactId, ownerEmail), createdAt, updatedAt, and for
 * leads and contacts the retention columns. API.md §6 adds `website` after `title` in leads.
 */
const RETENTION_COLUMNS = ['retentionEndsAt', 'deletesAt', 'maskedAt', 'legalHold'];
const API_COLUMNS: Record<CrmModuleName, string[]> = {
  LEADS: ['id', 'firstName', 'lastName', 'email', 'phone', 'company', 'title', 'website', 'status', 'source', 'notes',
    'ownerEmail', 'createdAt', 'updatedAt', ...RETENTION_COLUMNS],
  CONTACTS: ['id', 'firstName', 'lastName', 'email', 'phone', 'jobTitle', 'address', 'notes', 'accountId',
    'ownerEmail', 'createdAt', 'updatedAt', ...RETENTION_COLUMNS],
  ACCOUNTS: ['id', 'name', 'domain', 'industry', 'phone', 'address', 'ownerEmail', 'createdAt', 'updatedAt'],
  DEALS: ['id', 'name', 'amount', 'currency', 'stage', 'closeDate', 'accountId', 'contactId', 'ownerEmail', 'createdAt', 'updatedAt'],
};
const TABLE: Record<CrmModuleName, string> = { LEADS: 'leads', CONTACTS: 'contacts', ACCOUNTS: 'accounts', DEALS: 'deals' };
const INSTANTS = new Set(['createdAt', 'updatedAt', 'maskedAt']);

/** How the oracle reads a column straight from the table: the header in snake_case, timestamps as epoch ms. */
function oracleSql(header: string): string {
  if (header === 'ownerEmail') return 'u.email';
  const column = `t.${header.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
  if (INSTANTS.has(header)) return `(extract(epoch from ${column}) * 1000)::int8`;
  return header === 'closeDate' ? `${column}::text` : column;
}

/** Every record of the organization in API.md §5's columns (retention dates aside: a restore recomputes them). */
async function oracleRows(pool: pg.Pool, organizationId: string): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const module of RESTORE_MODULES) {
    const headers = API_COLUMNS[module].filter((h) => h !== 'retentionEndsAt' && h !== 'deletesAt');
    const state = headers.includes('maskedAt') ? ', t.retention_state as "retentionState"' : '';
    const { rows } = await pool.query(
      `select ${headers.map((h) => `${oracleSql(h)} as "${h}"`).join(', ')}${state}
         from ${TABLE[module]} t left join users u on u.id = t.owner_id where t.organization_id = $1 order by t.id`,
      [organizationId],
    );
    out[module] = rows;
  }
  return out;
}

/** The header row of each file of the archive, which must be API.md §5's. */
async function expectApiHeaders(zip: Buffer): Promise<void> {
  for (const module of RESTORE_MODULES) {
    const csv = (await zipEntry(zip, `${TABLE[module]}.csv`)).toString('utf8');
    expect(csv.replace(/^\uFEFF/, '').split('\r\n')[0], `${module} header`).toBe(API_COLUMNS[module].join(','));
  }
}

const AUDIT_KEYS = new Set(['owner', 'createdAt', 'updatedAt', 'maskedAt', 'legalHold', 'account', 'contact']);

/** Inserts the generated records as they are (no API on the way: createdAt & co. can only be set like this). */
async function insertDataset(pool: pg.Pool, org: TestOrg, data: Dataset): Promise<void> {
  const owners = { admin: org.admin.userId, standard: org.standard.userId };
  const ids: Record<string, string[]> = { accounts: [], contacts: [] };
  const pick = (list: string[], n: number | null) => (n === null || list.length === 0 ? null : list[n % list.length]!);
  for (const table of ['accounts', 'contacts', 'deals', 'leads'] as const) {
    for (const record of data[table] as Record<string, unknown>[]) {
      const id = randomUUID();
      ids[table]?.push(id);
      const columns: Record<string, unknown> = { id, organization_id: org.organizationId, owner_id: record.owner ? owners[record.owner as 'admin'] : null };
      for (const [key, value] of Object.entries(record)) if (!AUDIT_KEYS.has(key)) columns[key] = value;
      if (table === 'contacts' || table === 'deals') columns.account_id = pick(ids.accounts!, record.account as number | null);
      if (table === 'deals') columns.contact_id = pick(ids.contacts!, record.contact as number | null);
      if ('maskedAt' in record) {
        columns.retention_state = record.maskedAt === null ? 'ACTIVE' : 'MASKED';
        columns.legal_hold = record.legalHold;
      }
      const names = Object.keys(columns);
      const params = Object.values(columns);
      const stamps = ['createdAt', 'updatedAt', 'maskedAt']
        .filter((k) => k in record && record[k] !== null)
        .map((k) => {
          params.push(record[k]);
          return [k === 'createdAt' ? 'created_at' : k === 'updatedAt' ? 'updated_at' : 'masked_at', `timestamptz 'epoch' + $${params.length}::int8 * interval '1 millisecond'`];
        });
      await pool.query(
        `insert into ${table} (${[...names, ...stamps.map((s) => s[0])].join(', ')})
         values (${[...names.map((_, i) => `$${i + 1}`), ...stamps.map((s) => s[1])].join(', ')})`,
        params,
      );
    }
  }
}

describe('restore round trip (backup → wipe → restore, property-based)', () => {
  let t: TestApp & { db: { url: string } };
  let org: TestOrg;
  let storage: string;
  beforeAll(async () => {
    // No job worker: the test runs each accepted import itself, right away (no polling in between).
    storage = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-restore-test-'));
    t = await startTestApp({ role: 'api', env: { STORAGE_DIR: storage } });
    org = await createOrg(t.app);
  });
  afterAll(async () => {
    await t.close();
    await fs.rm(storage, { recursive: true, force: true });
  });

  async function restore(opts: UploadOptions): Promise<ImportJobView> {
    const res = await upload(t.url, org.admin.token, opts);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    await t.app.services.restore.runJob({ importId: res.body.importId!, organizationId: org.organizationId });
    const job = await t.gql<{ importJob: ImportJobView }>(org.admin.token, `query($id: ID!) { importJob(id: $id) { ${IMPORT_JOB_FIELDS} } }`, {
      id: res.body.importId,
    });
    return job.data!.importJob;
  }

  const viaFiles = (zip: Buffer, ext: 'csv' | 'xlsx') => async () => {
    const jobs: ImportJobView[] = [];
    for (const module of RESTORE_MODULES) {
      const name = `${fileBase(module)}.${ext}`;
      jobs.push(await restore({ file: { data: await zipEntry(zip, name), name }, module: module.toLowerCase() }));
    }
    return jobs;
  };
  const viaZip = (zip: Buffer) => async () => [await restore({ file: { data: zip, name: 'crm-backup.zip' } })];

  it('gives back exactly the records that were backed up, through CSV, XLSX and ZIP', async () => {
    const pool = t.app.services.pool;
    await fc.assert(
      fc.asyncProperty(dataset, async (data) => {
        await wipe(pool, org.organizationId);
        await insertDataset(pool, org, data);
        const before = await oracleRows(pool, org.organizationId);
        const total = Object.values(before).reduce((n, rows) => n + rows.length, 0);
        const zip = await archiveOf(t, org.organizationId);
        await expectApiHeaders(zip);
        for (const [label, run] of [
          ['CSV', viaFiles(zip, 'csv')],
          ['XLSX', viaFiles(zip, 'xlsx')],
          ['ZIP', viaZip(zip)],
        ] as const) {
          await wipe(pool, org.organizationId);
          const jobs = await run();
          for (const job of jobs) expect(job, `${label} job`).toMatchObject({ status: 'COMPLETED', failed: 0, skipped: 0, errors: [] });
          expect(jobs.reduce((n, j) => n + j.created, 0), `${label} created`).toBe(total);
          expect(await oracleRows(pool, org.organizationId), `${label} records`).toEqual(before);
        }
      }),
      { numRuns: 15 },
    );
  }, 180_000);

  it('restores the modules chosen from a ZIP, and only those', async () => {
    const pool = t.app.services.pool;
    await wipe(pool, org.organizationId);
    const sample = fc.sample(dataset.filter((d) => d.accounts.length > 0 && d.leads.length > 0), { numRuns: 1, seed: 7 })[0]!;
    await insertDataset(pool, org, sample);
    const before = await oracleRows(pool, org.organizationId);
    const zip = await archiveOf(t, org.organizationId);
    await wipe(pool, org.organizationId);
    const job = await restore({ file: { data: zip, name: 'crm-backup.zip' }, modules: 'leads,accounts' });
    expect(job).toMatchObject({ status: 'COMPLETED', modules: ['ACCOUNTS', 'LEADS'] });
    const after = await oracleRows(pool, org.organizationId);
    const chosen: CrmModuleName[] = ['ACCOUNTS', 'LEADS'];
    for (const module of RESTORE_MODULES) expect(after[module]).toEqual(chosen.includes(module) ? before[module] : []);
  });
});
