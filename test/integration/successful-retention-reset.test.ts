import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import {
  applyPolicy,
  contactRetention,
  contactsPolicy,
  gqlOk,
  insertContacts,
  PREVIEW,
  RESET_RECORD_RETENTION,
  SET_RECORD_RETENTION,
  SET_ENABLED,
  stopCronSweep,
  UPDATE_POLICY,
  UPDATE_RECORD_RETENTION,
  waitForRecompute,
  type RetentionView,
} from '../support/retention-helpers.ts';
import type { TestApp } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

const PREVIEW_CUSTOM = PREVIEW.replace('deletionDueWithin30Days }', 'deletionDueWithin30Days customRecords }');
const HOLD = `mutation($id: ID!, $hold: Boolean!) { setLegalHold(module: CONTACTS, id: $id, hold: $hold) { legalHold canEdit } }`;

describe('custom dates: reset, policy changes, the switch, the preview, canEdit', () => {
  const clock = new ManualClock('2026-03-01T00:00:00.000Z');
  let t: TestApp & { db: { pool: import('pg').Pool } };
  let org: TestOrg;
  /** owned by the STANDARD user: mine; owned by the admin: theirs; masked later: masked. */
  let mine: string;
  let theirs: string;
  let masked: string;
  const view = async (id: string, token = org.admin.token): Promise<RetentionView> => (await contactRetention(t.gql, token, id)).retention;
  const setDate = (id: string, at: string, token = org.admin.token) =>
    gqlOk<{ updateRecordRetention: RetentionView }>(t.gql, token, SET_RECORD_RETENTION, { module: 'CONTACTS', id, at });
  const reset = async (id: string, token = org.admin.token) =>
    (await gqlOk<{ resetRecordRetention: RetentionView }>(t.gql, token, RESET_RECORD_RETENTION, { module: 'CONTACTS', id })).resetRecordRetention;

  useOrgApp({ clock }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    [mine, masked] = await insertContacts(t.db.pool, org.organizationId, [
      { createdAt: '2026-01-10T02:00:00.000Z', ownerId: org.standard.userId },
      { createdAt: '2026-01-20T02:00:00.000Z', ownerId: org.standard.userId },
    ]) as [string, string];
    [theirs] = await insertContacts(t.db.pool, org.organizationId, [{ createdAt: '2026-01-15T02:00:00.000Z', ownerId: org.admin.userId }]) as [string];
    await applyPolicy(t.gql, t.db.pool, org.admin.token, contactsPolicy({ value: 1, unit: 'YEARS' }));
  });

  it('canEdit: ADMIN always; a STANDARD user on their own record only, never on hold or masked', async () => {
    expect((await view(mine)).canEdit).toBe(true);
    expect((await view(mine, org.standard.token)).canEdit).toBe(true);
    expect((await view(theirs, org.standard.token)).canEdit).toBe(false);
    await gqlOk(t.gql, org.admin.token, HOLD, { id: mine, hold: true });
    expect((await view(mine, org.standard.token)).canEdit).toBe(false);
    expect((await view(mine)).canEdit).toBe(true);
    await gqlOk(t.gql, org.admin.token, HOLD, { id: mine, hold: false });
    expect((await view(mine, org.standard.token)).canEdit).toBe(true);
  });

  it('a hand-set date is CUSTOM; reset brings back the policy date (POLICY), for the owner too', async () => {
    const policy = await view(mine);
    expect(policy).toMatchObject({ source: 'POLICY', retentionEndsAt: '2027-01-10T02:00:00.000Z' });
    const custom = (await setDate(mine, '2026-12-01T00:00:00.000Z', org.standard.token)).updateRecordRetention;
    expect(custom).toMatchObject({ source: 'CUSTOM', retentionEndsAt: '2026-12-01T00:00:00.000Z', deletesAt: '2026-12-31T00:00:00.000Z' });
    expect(await reset(mine, org.standard.token)).toMatchObject({
      source: 'POLICY',
      retentionEndsAt: policy.retentionEndsAt,
      deletesAt: policy.deletesAt,
      state: 'ACTIVE',
    });
  });

  it('a masked record reset to a policy date ahead is unmasked from the vault', async () => {
    await setDate(masked, '2026-02-28T00:00:00.000Z');
    expect(await t.app.services.retention.sweep({ organizationId: org.organizationId })).toMatchObject({ masked: 1 });
    const before = await contactRetention(t.gql, org.admin.token, masked);
    expect(before.retention).toMatchObject({ state: 'MASKED', source: 'CUSTOM', canEdit: true });
    expect((await view(masked, org.standard.token)).canEdit).toBe(false);
    expect(before.firstName).not.toBe('First2');
    expect(await reset(masked)).toMatchObject({ state: 'ACTIVE', source: 'POLICY', retentionEndsAt: '2027-01-20T02:00:00.000Z', maskedAt: null });
    expect((await contactRetention(t.gql, org.admin.token, masked)).firstName).toBe('First2');
  });

  it('a policy change moves POLICY dates and keeps CUSTOM ones (their deletion date follows the action period)', async () => {
    await setDate(theirs, '2026-11-11T00:00:00.000Z');
    const preview = await gqlOk<{ retentionPreview: { customRecords: number; activeRecords: number } }>(t.gql, org.admin.token, PREVIEW_CUSTOM, {
      input: contactsPolicy({ value: 2, unit: 'YEARS' }),
    });
    expect(preview.retentionPreview).toMatchObject({ customRecords: 1, activeRecords: 3 });
    await gqlOk(t.gql, org.admin.token, UPDATE_POLICY, { input: contactsPolicy({ value: 2, unit: 'YEARS' }, { actionPeriod: { value: 10, unit: 'DAYS' } }) });
    await waitForRecompute(t.db.pool);
    expect(await view(theirs)).toMatchObject({ source: 'CUSTOM', retentionEndsAt: '2026-11-11T00:00:00.000Z', deletesAt: '2026-11-21T00:00:00.000Z' });
    expect(await view(mine)).toMatchObject({ source: 'POLICY', retentionEndsAt: '2028-01-10T02:00:00.000Z' });
  });

  it('the module’s policy turned off clears POLICY dates and keeps CUSTOM ones; on again, dates return', async () => {
    await gqlOk(t.gql, org.admin.token, UPDATE_POLICY, { input: contactsPolicy({ value: 2, unit: 'YEARS' }, { enabled: false, actionPeriod: { value: 10, unit: 'DAYS' } }) });
    await waitForRecompute(t.db.pool);
    expect(await view(mine)).toMatchObject({ source: 'NONE', retentionEndsAt: null, deletesAt: null });
    expect(await view(theirs)).toMatchObject({ source: 'CUSTOM', retentionEndsAt: '2026-11-11T00:00:00.000Z' });
    await gqlOk(t.gql, org.admin.token, UPDATE_POLICY, { input: contactsPolicy({ value: 2, unit: 'YEARS' }, { actionPeriod: { value: 10, unit: 'DAYS' } }) });
    await waitForRecompute(t.db.pool);
    expect(await view(mine)).toMatchObject({ source: 'POLICY', retentionEndsAt: '2028-01-10T02:00:00.000Z' });
  });

  it('the organization switch turned off clears every date, CUSTOM included; on again, policy dates only', async () => {
    await gqlOk(t.gql, org.admin.token, SET_ENABLED, { enabled: false });
    await waitForRecompute(t.db.pool);
    for (const id of [mine, theirs, masked]) {
      expect(await view(id)).toMatchObject({ source: 'NONE', retentionEndsAt: null, deletesAt: null });
    }
    await gqlOk(t.gql, org.admin.token, SET_ENABLED, { enabled: true });
    await waitForRecompute(t.db.pool);
    expect(await view(theirs)).toMatchObject({ source: 'POLICY', retentionEndsAt: '2028-01-15T02:00:00.000Z' });
  });
});

describe('retention dates count on the organization’s calendar', () => {
  let t: TestApp & { db: { pool: import('pg').Pool } };
  let ny: TestOrg;
  useOrgApp({}, (ready) => ({ t } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    ny = await createOrg(t.app, 'New York office', 'America/New_York');
  });

  it('"2 years" from 9 March 2024 23:30 in New York (EST) ends 9 March 2026 23:30 there (EDT), not an hour later', async () => {
    const [id] = await insertContacts(t.db.pool, ny.organizationId, [{ createdAt: '2024-03-10T04:30:00.000Z' }]);
    await applyPolicy(t.gql, t.db.pool, ny.admin.token, contactsPolicy({ value: 2, unit: 'YEARS' }));
    // UTC arithmetic would give 2026-03-10T04:30Z: 10 March, 00:30 in New York, the next local day.
    expect(await contactRetention(t.gql, ny.admin.token, id!)).toMatchObject({
      retention: { retentionEndsAt: '2026-03-10T03:30:00.000Z', deletesAt: '2026-04-09T03:30:00.000Z', source: 'POLICY' },
    });
    // A hand-set date's deletion date is counted the same way: 28 Feb 23:00 EST + 30 days = 30 Mar 23:00 EDT.
    const set = await gqlOk<{ updateRecordRetention: RetentionView }>(t.gql, ny.admin.token, UPDATE_RECORD_RETENTION, {
      module: 'CONTACTS',
      id,
      at: '2026-03-01T04:00:00.000Z',
    });
    expect(set.updateRecordRetention.deletesAt).toBe('2026-03-31T03:00:00.000Z');
  });
});
