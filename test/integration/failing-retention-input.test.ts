import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import type { TestOrg } from '../support/factories.ts';
import { crmSnapshot } from '../support/foundation-helpers.ts';
import {
  applyPolicy,
  count,
  gqlOk,
  insertContacts,
  PREVIEW,
  SET_ENABLED,
  stopCronSweep,
  UPDATE_POLICY,
  UPDATE_RECORD_RETENTION,
} from '../support/retention-helpers.ts';
import { codeOf, startTestApp, type GraphQLResponse } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

type Started = Awaited<ReturnType<typeof startTestApp>>;

const VALID = {
  module: 'CONTACTS',
  enabled: true,
  basis: 'CREATED_AT',
  retentionPeriod: { value: 1, unit: 'YEARS' },
  action: 'MASK',
  actionPeriod: { value: 30, unit: 'DAYS' },
};

/** Everything retention may change: a bad request must leave all of it as it was. */
async function retentionState(t: Started) {
  const q = async (sql: string) => (await t.db.pool.query(sql)).rows;
  return {
    crm: await crmSnapshot(t.db.pool),
    settings: await q('select * from retention_settings order by organization_id'),
    policies: await q('select * from retention_policies order by organization_id, module'),
    vault: await q('select organization_id, module, record_id from retention_vault order by record_id'),
    tombstones: await q('select * from tombstones order by record_id'),
    events: await q(`select id from activity_events where kind like 'retention.%' order by id`),
    jobs: await q(`select id from pgboss.job where name like 'retention-%' order by id`),
  };
}

function expectRefused(res: GraphQLResponse<unknown>, code: string, field?: string): void {
  expect(codeOf(res), JSON.stringify(res.errors)).toBe(code);
  if (field) expect(res.errors?.[0]?.extensions?.field).toBe(field);
  expect(res.data ?? null).toBeNull();
}

describe('retention settings and policies: bad input and roles are refused, nothing changes', () => {
  let t: Started;
  let org: TestOrg;
  let before: Awaited<ReturnType<typeof retentionState>>;

  useOrgApp({}, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
  });
  beforeEach(async () => {
    before = await retentionState(t);
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ['a module without retention (ACCOUNTS)', { module: 'ACCOUNTS' }, 'module'],
    ['DEALS', { module: 'DEALS' }, 'module'],
    ['retention period 0', { retentionPeriod: { value: 0, unit: 'DAYS' } }, 'retentionPeriod.value'],
    ['retention period 1001', { retentionPeriod: { value: 1001, unit: 'YEARS' } }, 'retentionPeriod.value'],
    ['a negative retention period', { retentionPeriod: { value: -5, unit: 'MONTHS' } }, 'retentionPeriod.value'],
    ['action period −1', { action: 'DELETE', actionPeriod: { value: -1, unit: 'DAYS' } }, 'actionPeriod.value'],
    ['action period 1001', { actionPeriod: { value: 1001, unit: 'DAYS' } }, 'actionPeriod.value'],
    ['MASK kept 0 days', { action: 'MASK', actionPeriod: { value: 0, unit: 'WEEKS' } }, 'actionPeriod'],
  ];

  it.each(cases)('updateRetentionPolicy refuses %s with BAD_USER_INPUT naming the field', async (_label, change, field) => {
    const res = await t.gql(org.admin.token, UPDATE_POLICY, { input: { ...VALID, ...change } });
    expectRefused(res, 'BAD_USER_INPUT', field);
    expect(res.errors![0]!.message).toContain(field);
    expect(await retentionState(t)).toEqual(before);
  });

  it.each(cases)('retentionPreview refuses %s with BAD_USER_INPUT', async (_label, change, field) => {
    const res = await t.gql(org.admin.token, PREVIEW, { input: { ...VALID, ...change } });
    expectRefused(res, 'BAD_USER_INPUT', field);
  });

  it.each([
    ['an unknown unit', { retentionPeriod: { value: 1, unit: 'HOURS' } }],
    ['an unknown action', { action: 'ARCHIVE' }],
    ['an unknown basis', { basis: 'DELETED_AT' }],
    ['a fractional value', { retentionPeriod: { value: 1.5, unit: 'DAYS' } }],
  ])('refuses %s at the schema (BAD_USER_INPUT)', async (_label, change) => {
    const res = await t.gql(org.admin.token, UPDATE_POLICY, { input: { ...VALID, ...change } });
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(await retentionState(t)).toEqual(before);
  });

  it.each([
    ['setRetentionNoticeDays(-1)', 'mutation { setRetentionNoticeDays(days: -1) { noticeDays } }'],
    ['setRetentionNoticeDays(91)', 'mutation { setRetentionNoticeDays(days: 91) { noticeDays } }'],
  ])('%s → BAD_USER_INPUT naming days', async (_label, query) => {
    expectRefused(await t.gql(org.admin.token, query), 'BAD_USER_INPUT', 'days');
    expect(await retentionState(t)).toEqual(before);
  });

  it.each([
    ['setRetentionEnabled', SET_ENABLED, { enabled: true }],
    ['updateRetentionPolicy', UPDATE_POLICY, { input: VALID }],
    ['retentionPreview', PREVIEW, { input: VALID }],
    ['setRetentionNoticeDays', 'mutation { setRetentionNoticeDays(days: 3) { noticeDays } }', {}],
    ['setLegalHold', 'mutation($id: ID!) { setLegalHold(module: CONTACTS, id: $id, hold: true) { legalHold } }', { id: '00000000-0000-4000-8000-000000000000' }],
  ])('a STANDARD user may not call %s (FORBIDDEN)', async (_label, query, variables) => {
    expectRefused(await t.gql(org.standard.token, query, variables), 'FORBIDDEN');
    expect(await retentionState(t)).toEqual(before);
  });

  it('anyone without a token gets UNAUTHENTICATED, even for the readable settings', async () => {
    expect(codeOf(await t.gql(null, '{ retentionSettings { enabled } }'))).toBe('UNAUTHENTICATED');
  });

  it('a STANDARD user may read the settings; never-set policies are listed as disabled defaults', async () => {
    const res = await gqlOk<{ retentionSettings: unknown }>(t.gql, org.standard.token, '{ retentionSettings { enabled noticeDays policies { module enabled basis retentionPeriod { value unit } action actionPeriod { value unit } updatedAt updatedBy { id } } } }');
    const defaults = { enabled: false, basis: 'CREATED_AT', retentionPeriod: { value: 1, unit: 'YEARS' }, action: 'DELETE', actionPeriod: { value: 30, unit: 'DAYS' }, updatedAt: null, updatedBy: null };
    expect(res.retentionSettings).toEqual({
      enabled: false,
      noticeDays: 7,
      policies: [{ module: 'LEADS', ...defaults }, { module: 'CONTACTS', ...defaults }],
    });
  });
});

describe('record retention: roles, masked records, bad ids and dates are refused, nothing changes', () => {
  const clock = new ManualClock('2025-03-01T00:00:00.000Z');
  let t: Started;
  let org: TestOrg;
  let otherOrg: TestOrg;
  let mine: string; // owned by the STANDARD user
  let theirs: string; // owned by the admin
  let masked: string; // owned by the STANDARD user, masked
  let foreign: string; // another organization's
  let before: Awaited<ReturnType<typeof retentionState>>;

  useOrgApp({ clock, orgs: 2 }, (ready) => ({ t, org, other: otherOrg } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    [mine, theirs, masked] = await insertContacts(t.db.pool, org.organizationId, [
      { createdAt: '2025-01-01T00:00:00Z', ownerId: org.standard.userId },
      { createdAt: '2025-01-01T00:00:00Z', ownerId: org.admin.userId },
      { createdAt: '2024-01-01T00:00:00Z', ownerId: org.standard.userId },
    ]) as [string, string, string];
    [foreign] = (await insertContacts(t.db.pool, otherOrg.organizationId, [{ createdAt: '2025-01-01T00:00:00Z' }])) as [string];
    await applyPolicy(t.gql, t.db.pool, org.admin.token, { module: 'CONTACTS', retentionPeriod: { value: 1, unit: 'YEARS' }, action: 'MASK', actionPeriod: { value: 1, unit: 'YEARS' } });
    expect(await t.app.services.retention.sweep()).toEqual({ expired: 0, masked: 1, deleted: 0 });
  });
  beforeEach(async () => {
    before = await retentionState(t);
  });

  const move = (token: string, id: string, at = '2026-06-01T00:00:00.000Z', module = 'CONTACTS') =>
    t.gql(token, UPDATE_RECORD_RETENTION, { module, id, at });

  it('a STANDARD user may not move the date of a record someone else owns (FORBIDDEN)', async () => {
    expectRefused(await move(org.standard.token, theirs), 'FORBIDDEN');
    expect(await retentionState(t)).toEqual(before);
  });

  it('a STANDARD owner gets MASKED_RECORD_ADMIN_ONLY on a masked record: date, edit and delete', async () => {
    expectRefused(await move(org.standard.token, masked), 'MASKED_RECORD_ADMIN_ONLY');
    expectRefused(await t.gql(org.standard.token, `mutation($id: ID!) { updateContact(id: $id, input: { jobTitle: "x" }) { id } }`, { id: masked }), 'MASKED_RECORD_ADMIN_ONLY');
    expectRefused(await t.gql(org.standard.token, `mutation($id: ID!) { deleteContact(id: $id) }`, { id: masked }), 'MASKED_RECORD_ADMIN_ONLY');
    expect(await retentionState(t)).toEqual(before);
  });

  it('an ADMIN may edit a masked record (it stays masked)', async () => {
    const res = await gqlOk<{ updateContact: { jobTitle: string; firstName: string; retention: { state: string } } }>(t.gql, org.admin.token, `mutation($id: ID!) { updateContact(id: $id, input: { jobTitle: "Edited" }) { jobTitle firstName retention { state } } }`, { id: masked });
    expect(res.updateContact).toEqual({ jobTitle: 'Edited', firstName: 'F***', retention: { state: 'MASKED' } });
  });

  it.each([
    ['a module without retention', () => move(org.admin.token, mine, undefined, 'ACCOUNTS'), 'BAD_USER_INPUT'],
    ['an unknown id', () => move(org.admin.token, '00000000-0000-4000-8000-000000000000'), 'NOT_FOUND'],
    ['a malformed id', () => move(org.admin.token, 'not-an-id'), 'NOT_FOUND'],
    ["another organization's record", () => move(org.admin.token, foreign), 'NOT_FOUND'],
    ['a date beyond the year 9000', () => move(org.admin.token, mine, '9500-01-01T00:00:00.000Z'), 'BAD_USER_INPUT'],
    ['a date that is not a date', () => move(org.admin.token, mine, 'tomorrow'), 'BAD_USER_INPUT'],
    ['legal hold on an unknown id', () => t.gql(org.admin.token, 'mutation { setLegalHold(module: LEADS, id: "00000000-0000-4000-8000-000000000000", hold: true) { legalHold } }'), 'NOT_FOUND'],
    ['legal hold on ACCOUNTS', () => t.gql(org.admin.token, `mutation($id: ID!) { setLegalHold(module: ACCOUNTS, id: $id, hold: true) { legalHold } }`, { id: mine }), 'BAD_USER_INPUT'],
  ])('updateRecordRetention / setLegalHold refuse %s', async (_label, call, code) => {
    expect(codeOf(await call())).toBe(code);
    expect(await retentionState(t)).toEqual(before);
  });

  it('a retention date needs retention on: BAD_USER_INPUT in an organization with it off', async () => {
    const res = await move(otherOrg.admin.token, foreign);
    expectRefused(res, 'BAD_USER_INPUT', 'module');
    expect(await count(t.db.pool, 'select count(*)::int as n from contacts where id = $1 and retention_ends_at is null', [foreign])).toBe(1);
  });
});
