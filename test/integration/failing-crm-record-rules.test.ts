import { beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { TestOrg } from '../support/factories.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { applyPolicy, gqlOk, insertContacts, stopCronSweep, UPDATE_RECORD_RETENTION } from '../support/retention-helpers.ts';
import { codeOf, type TestApp } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

const UPDATE_OWNER = `mutation($id: ID!, $ownerId: ID) { updateContact(id: $id, input: { ownerId: $ownerId }) { id owner { id } } }`;

const row = async (pool: pg.Pool, id: string) => (await pool.query('select * from contacts where id = $1', [id])).rows[0] as Record<string, unknown>;

describe('ownership (API.md §6 Rules): a STANDARD user gives records away, never takes them', () => {
  let t: TestApp;
  let org: TestOrg;
  let mine: string;
  let theirs: string;
  useOrgApp({}, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    [mine = '', theirs = ''] = await insertContacts(t.app.services.pool, org.organizationId, [
      { createdAt: '2026-01-01T00:00:00Z', ownerId: org.standard.userId },
      { createdAt: '2026-01-01T00:00:00Z', ownerId: org.admin.userId },
    ]);
  });

  it.each([
    ['themselves', () => org.standard.userId],
    ['no one', () => null],
  ])('refuses setting the owner of a record someone else owns to %s (FORBIDDEN), nothing changes', async (_label, owner) => {
    const before = await row(t.app.services.pool, theirs);
    const res = await t.gql(org.standard.token, UPDATE_OWNER, { id: theirs, ownerId: owner() });
    expect(codeOf(res), JSON.stringify(res.errors)).toBe('FORBIDDEN');
    expect(await row(t.app.services.pool, theirs)).toEqual(before);
  });

  it('still lets a STANDARD user edit a record someone else owns when the owner stays', async () => {
    const res = await gqlOk<{ updateContact: { owner: { id: string } } }>(t.gql, org.standard.token, UPDATE_OWNER, { id: theirs, ownerId: org.admin.userId });
    expect(res.updateContact.owner.id).toBe(org.admin.userId);
  });

  it('lets a STANDARD owner give a record away, which then cannot be taken back', async () => {
    const given = await gqlOk<{ updateContact: { owner: { id: string } } }>(t.gql, org.standard.token, UPDATE_OWNER, { id: mine, ownerId: org.admin.userId });
    expect(given.updateContact.owner.id).toBe(org.admin.userId);
    const back = await t.gql(org.standard.token, UPDATE_OWNER, { id: mine, ownerId: org.standard.userId });
    expect(codeOf(back)).toBe('FORBIDDEN');
    expect((await row(t.app.services.pool, mine)).owner_id).toBe(org.admin.userId);
  });

  it('lets an ADMIN reassign any record', async () => {
    const res = await gqlOk<{ updateContact: { owner: { id: string } } }>(t.gql, org.admin.token, UPDATE_OWNER, { id: theirs, ownerId: org.standard.userId });
    expect(res.updateContact.owner.id).toBe(org.standard.userId);
  });
});

describe('legal hold (API.md §6 Rules): no one deletes a held record, only an ADMIN changes it', () => {
  const clock = new ManualClock('2026-06-01T00:00:00.000Z');
  let t: TestApp;
  let org: TestOrg;
  let held: string;
  useOrgApp({ clock }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    [held = ''] = await insertContacts(t.app.services.pool, org.organizationId, [
      { createdAt: '2026-01-01T00:00:00Z', ownerId: org.standard.userId, legalHold: true },
    ]);
    await applyPolicy(t.gql, t.app.services.pool, org.admin.token, {
      module: 'CONTACTS',
      retentionPeriod: { value: 1, unit: 'YEARS' },
      action: 'MASK',
      actionPeriod: { value: 1, unit: 'YEARS' },
    });
  });

  const edit = (token: string) => t.gql(token, 'mutation($id: ID!) { updateContact(id: $id, input: { jobTitle: "Changed" }) { jobTitle } }', { id: held });
  const remove = (token: string) => t.gql(token, 'mutation($id: ID!) { deleteContact(id: $id) }', { id: held });
  const move = (token: string, at = '2027-03-01T00:00:00.000Z') => t.gql(token, UPDATE_RECORD_RETENTION, { module: 'CONTACTS', id: held, at });

  it.each([
    ['its STANDARD owner edits it', () => edit(org.standard.token)],
    ['its STANDARD owner moves its retention date', () => move(org.standard.token)],
    ['its STANDARD owner deletes it', () => remove(org.standard.token)],
    ['an ADMIN deletes it', () => remove(org.admin.token)],
  ])('RECORD_ON_LEGAL_HOLD when %s; nothing changes', async (_label, call) => {
    const before = await row(t.app.services.pool, held);
    const res = await call();
    expect(codeOf(res), JSON.stringify(res.errors)).toBe('RECORD_ON_LEGAL_HOLD');
    expect(res.data ?? null).toBeNull();
    expect(await row(t.app.services.pool, held)).toEqual(before);
  });

  it('lets an ADMIN edit it and move its retention date; it stays held', async () => {
    const edited = await gqlOk<{ updateContact: { jobTitle: string } }>(t.gql, org.admin.token, 'mutation($id: ID!) { updateContact(id: $id, input: { jobTitle: "Counsel" }) { jobTitle } }', { id: held });
    expect(edited.updateContact.jobTitle).toBe('Counsel');
    const moved = await gqlOk<{ updateRecordRetention: { retentionEndsAt: string; legalHold: boolean } }>(t.gql, org.admin.token, UPDATE_RECORD_RETENTION, { module: 'CONTACTS', id: held, at: '2027-03-01T00:00:00.000Z' });
    expect(moved.updateRecordRetention).toMatchObject({ retentionEndsAt: '2027-03-01T00:00:00.000Z', legalHold: true });
  });

  it('once the hold is lifted, its STANDARD owner may delete it', async () => {
    await gqlOk(t.gql, org.admin.token, 'mutation($id: ID!) { setLegalHold(module: CONTACTS, id: $id, hold: false) { legalHold } }', { id: held });
    expect(await gqlOk(t.gql, org.standard.token, 'mutation($id: ID!) { deleteContact(id: $id) }', { id: held })).toEqual({ deleteContact: true });
    expect(await row(t.app.services.pool, held)).toBeUndefined();
  });
});

describe('retention date bounds (API.md §6 Rules): at most 100 years ahead; a STANDARD user stays within the policy', () => {
  const clock = new ManualClock('2026-06-01T00:00:00.000Z');
  let t: TestApp;
  let org: TestOrg;
  let id: string;
  useOrgApp({ clock }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    // A 1-year policy on 1 Jun 2026: the policy gives a record 1 Jun 2027 today, the latest a STANDARD user may set.
    [id = ''] = await insertContacts(t.app.services.pool, org.organizationId, [
      { createdAt: '2026-01-01T00:00:00Z', ownerId: org.standard.userId },
    ]);
    await applyPolicy(t.gql, t.app.services.pool, org.admin.token, {
      module: 'CONTACTS',
      retentionPeriod: { value: 1, unit: 'YEARS' },
      action: 'MASK',
      actionPeriod: { value: 30, unit: 'DAYS' },
    });
  });

  const move = (token: string, at: string) => t.gql(token, UPDATE_RECORD_RETENTION, { module: 'CONTACTS', id, at });
  const endsAt = async (token: string, at: string) =>
    (await gqlOk<{ updateRecordRetention: { retentionEndsAt: string } }>(t.gql, token, UPDATE_RECORD_RETENTION, { module: 'CONTACTS', id, at }))
      .updateRecordRetention.retentionEndsAt;

  it.each([
    ['its STANDARD owner, beyond the policy’s date', () => org.standard.token, '2027-06-01T00:00:00.001Z', 'FORBIDDEN', undefined],
    ['its STANDARD owner, to the year 8999', () => org.standard.token, '8999-01-01T00:00:00.000Z', 'BAD_USER_INPUT', 'retentionEndsAt'],
    ['an ADMIN, more than 100 years ahead', () => org.admin.token, '2126-06-01T00:00:00.001Z', 'BAD_USER_INPUT', 'retentionEndsAt'],
  ])('refuses a date from %s; nothing changes', async (_label, token, at, code, field) => {
    const before = await row(t.app.services.pool, id);
    const res = await move(token(), at);
    expect(codeOf(res), JSON.stringify(res.errors)).toBe(code);
    if (field) expect(res.errors?.[0]?.extensions?.field).toBe(field);
    expect(await row(t.app.services.pool, id)).toEqual(before);
  });

  it('lets its STANDARD owner choose any date up to the policy’s', async () => {
    expect(await endsAt(org.standard.token, '2026-09-01T00:00:00.000Z')).toBe('2026-09-01T00:00:00.000Z');
    expect(await endsAt(org.standard.token, '2027-06-01T00:00:00.000Z')).toBe('2027-06-01T00:00:00.000Z');
  });

  it('lets an ADMIN go beyond the policy, up to exactly 100 years ahead', async () => {
    expect(await endsAt(org.admin.token, '2030-01-01T00:00:00.000Z')).toBe('2030-01-01T00:00:00.000Z');
    expect(await endsAt(org.admin.token, '2126-06-01T00:00:00.000Z')).toBe('2126-06-01T00:00:00.000Z');
  });
});
