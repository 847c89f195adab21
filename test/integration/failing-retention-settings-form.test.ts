import { beforeAll, describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import {
  applyPolicy,
  contactRetention,
  contactsPolicy,
  count,
  gqlOk,
  insertContacts,
  RESET_RECORD_RETENTION,
  SAVE_SETTINGS,
  SET_ENABLED,
  SET_RECORD_RETENTION,
  stopCronSweep,
  waitForRecompute,
} from '../support/retention-helpers.ts';
import { codeOf, subscribe, type GraphQLResponse, type TestApp } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

const SETTINGS = '{ retentionSettings { enabled recomputing noticeDays policies { module enabled retentionPeriod { value unit } action updatedAt } } }';

function expectRefused(res: GraphQLResponse<unknown>, code: string, field?: string): void {
  expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res.errors)).toBe(code);
  if (field) expect(res.errors?.[0]?.extensions?.field).toBe(field);
}

describe('saveRetentionSettings: bad input and roles are refused, and nothing is saved', () => {
  let t: TestApp & { db: { pool: import('pg').Pool } };
  let org: TestOrg;
  useOrgApp({}, (ready) => ({ t, org } = ready));

  /** Everything a save could have touched: settings, policies, activity, recompute rows, recompute jobs. */
  const snapshot = async () => ({
    settings: await gqlOk(t.gql, org.admin.token, SETTINGS),
    activity: await count(t.db.pool, 'select count(*)::int as n from activity_events where organization_id = $1', [org.organizationId]),
    recomputes: await count(t.db.pool, 'select count(*)::int as n from retention_recomputes'),
    jobs: await count(t.db.pool, `select count(*)::int as n from pgboss.job where name = 'retention-recompute'`),
  });

  const good = contactsPolicy({ value: 1, unit: 'YEARS' });
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'a bad second policy (the first one is valid)',
      { enabled: true, policies: [good, { ...good, module: 'LEADS', retentionPeriod: { value: 0, unit: 'DAYS' } }] },
      'policies[1].retentionPeriod.value',
    ],
    ['the same module twice', { enabled: true, policies: [good, { ...good, retentionPeriod: { value: 2, unit: 'YEARS' } }] }, 'policies[1].module'],
    ['three policies', { enabled: true, policies: [good, { ...good, module: 'LEADS' }, good] }, 'policies'],
    ['a module without retention', { enabled: true, policies: [{ ...good, module: 'DEALS' }] }, 'policies[0].module'],
    ['MASK kept 0 days', { enabled: true, policies: [{ ...good, actionPeriod: { value: 0, unit: 'DAYS' } }] }, 'policies[0].actionPeriod'],
  ];

  it.each(cases)('refuses %s with BAD_USER_INPUT naming the field; nothing changes', async (_label, input, field) => {
    const before = await snapshot();
    expectRefused(await t.gql(org.admin.token, SAVE_SETTINGS, { input }), 'BAD_USER_INPUT', field);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a missing switch at the schema (BAD_USER_INPUT); nothing changes', async () => {
    const before = await snapshot();
    expectRefused(await t.gql(org.admin.token, SAVE_SETTINGS, { input: { policies: [good] } }), 'BAD_USER_INPUT');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a STANDARD user (FORBIDDEN); nothing changes', async () => {
    const before = await snapshot();
    expectRefused(await t.gql(org.standard.token, SAVE_SETTINGS, { input: { enabled: true, policies: [good] } }), 'FORBIDDEN');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses retentionSettingsChanged to a STANDARD user (FORBIDDEN)', async () => {
    const sub = subscribe(t.ws(org.standard.token), 'subscription { retentionSettingsChanged { enabled } }');
    await sub.next(1, 5000).catch(() => undefined);
    expect((sub.errorsSoFar()[0] as { extensions?: { code?: string } }[])?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(sub.events.filter((event) => event != null)).toEqual([]);
    sub.dispose();
  });
});

describe('resetRecordRetention: the rights of updateRecordRetention, and nothing changes when refused', () => {
  let t: TestApp & { db: { pool: import('pg').Pool } };
  let org: TestOrg;
  let other: TestOrg;
  let mine: string;
  let theirs: string;
  let masked: string;
  const CUSTOM_AT = '2026-12-31T00:00:00.000Z';
  useOrgApp({ orgs: 2 }, (ready) => ({ t, org, other } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    const now = new Date().toISOString();
    [mine] = (await insertContacts(t.db.pool, org.organizationId, [{ createdAt: now, ownerId: org.standard.userId }])) as [string];
    [theirs] = (await insertContacts(t.db.pool, org.organizationId, [{ createdAt: now, ownerId: org.admin.userId }])) as [string];
    [masked] = (await insertContacts(t.db.pool, org.organizationId, [{ createdAt: now, ownerId: org.standard.userId }])) as [string];
    await applyPolicy(t.gql, t.db.pool, org.admin.token, contactsPolicy({ value: 2, unit: 'YEARS' }));
    for (const id of [mine, theirs]) await gqlOk(t.gql, org.admin.token, SET_RECORD_RETENTION, { module: 'CONTACTS', id, at: CUSTOM_AT });
  });
  const reset = (token: string, id: string, module = 'CONTACTS') => t.gql(token, RESET_RECORD_RETENTION, { module, id });
  const unchanged = async (id: string) =>
    expect((await contactRetention(t.gql, org.admin.token, id)).retention).toMatchObject({ source: 'CUSTOM', retentionEndsAt: CUSTOM_AT });

  it('a STANDARD user on a record they do not own: FORBIDDEN', async () => {
    expectRefused(await reset(org.standard.token, theirs), 'FORBIDDEN');
    await unchanged(theirs);
  });

  it('a STANDARD user on their own record on legal hold: RECORD_ON_LEGAL_HOLD', async () => {
    await gqlOk(t.gql, org.admin.token, 'mutation($id: ID!) { setLegalHold(module: CONTACTS, id: $id, hold: true) { legalHold } }', { id: mine });
    expectRefused(await reset(org.standard.token, mine), 'RECORD_ON_LEGAL_HOLD');
    await unchanged(mine);
    await gqlOk(t.gql, org.admin.token, 'mutation($id: ID!) { setLegalHold(module: CONTACTS, id: $id, hold: false) { legalHold } }', { id: mine });
  });

  it('a STANDARD owner on their masked record: MASKED_RECORD_ADMIN_ONLY', async () => {
    const past = new Date(Date.now() - 86_400_000).toISOString();
    await gqlOk(t.gql, org.admin.token, SET_RECORD_RETENTION, { module: 'CONTACTS', id: masked, at: past });
    expect(await t.app.services.retention.sweep({ organizationId: org.organizationId })).toMatchObject({ masked: 1 });
    const before = (await contactRetention(t.gql, org.admin.token, masked)).retention;
    expect(before).toMatchObject({ state: 'MASKED', source: 'CUSTOM', retentionEndsAt: past });
    expectRefused(await reset(org.standard.token, masked), 'MASKED_RECORD_ADMIN_ONLY');
    expect((await contactRetention(t.gql, org.admin.token, masked)).retention).toEqual(before);
  });

  it('a module without retention: BAD_USER_INPUT naming module', async () => {
    expectRefused(await reset(org.admin.token, theirs, 'ACCOUNTS'), 'BAD_USER_INPUT', 'module');
  });

  it.each([
    ['an id that is no uuid', 'nope'],
    ['an unknown id', '00000000-0000-4000-8000-000000000000'],
  ])('%s: NOT_FOUND', async (_label, id) => {
    expectRefused(await reset(org.admin.token, id), 'NOT_FOUND');
  });

  it('another organization’s record: NOT_FOUND, and it is left as it was', async () => {
    expectRefused(await reset(other.admin.token, theirs), 'NOT_FOUND');
    await unchanged(theirs);
  });

  it('with the organization’s retention off: BAD_USER_INPUT (no policy gives a date)', async () => {
    await gqlOk(t.gql, org.admin.token, SET_ENABLED, { enabled: false });
    await waitForRecompute(t.db.pool);
    const before = (await contactRetention(t.gql, org.admin.token, mine)).retention;
    expect(before).toMatchObject({ source: 'NONE', retentionEndsAt: null });
    const res = await reset(org.admin.token, mine);
    expectRefused(res, 'BAD_USER_INPUT', 'module');
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect((await contactRetention(t.gql, org.admin.token, mine)).retention).toEqual(before);
  });
});
