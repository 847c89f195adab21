import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { RETENTION_SWEEP_CRON, RETENTION_SWEEP_QUEUE } from '../../src/modules/retention/retention.jobs.ts';
import type { TestOrg } from '../support/factories.ts';
import {
  applyPolicy,
  batchActivityTotal,
  count,
  gqlOk,
  insertContacts,
  stopCronSweep,
  UPDATE_RECORD_RETENTION,
} from '../support/retention-helpers.ts';
import { codeOf, startTestApp } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

type Started = Awaited<ReturnType<typeof startTestApp>>;

const CONTACT_FIELDS = 'id firstName lastName email phone address notes jobTitle retention { state retentionEndsAt deletesAt maskedAt legalHold }';
const ORIGINAL = {
  firstName: 'John',
  lastName: 'Doe',
  email: 'John.Doe@Example.com',
  phone: '+65 9123 4567',
  address: '1 Raffles Place',
  notes: 'Prefers calls after 6pm',
  jobTitle: 'CTO',
};

describe('retention lifecycle: policy → dates → sweep → masked → unmask → re-sweep → delete → tombstone', () => {
  const clock = new ManualClock('2025-01-01T00:00:00.000Z');
  let t: Started;
  let org: TestOrg;
  let contactId: string;
  const contact = async (token = org.admin.token) =>
    (await gqlOk<{ contact: Record<string, unknown> & { retention: Record<string, unknown> } | null }>(t.gql, token, `query($id: ID!) { contact(id: $id) { ${CONTACT_FIELDS} } }`, { id: contactId })).contact;
  const sweep = () => t.app.services.retention.sweep({ organizationId: org.organizationId });

  useOrgApp({ clock }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    const created = await gqlOk<{ createContact: { id: string } }>(t.gql, org.standard.token, `mutation($input: ContactInput!) { createContact(input: $input) { id } }`, { input: ORIGINAL });
    contactId = created.createContact.id;
    // Created on the 31st: one month later is the last day of February.
    await t.db.pool.query(`update contacts set created_at = '2025-01-31T10:00:00Z', updated_at = '2025-01-31T10:00:00Z' where id = $1`, [contactId]);
  });

  it('schedules the sweep every 5 minutes (then the test removes the real-time cron)', async () => {
    const schedules = await t.app.services.boss.getSchedules(RETENTION_SWEEP_QUEUE);
    expect(schedules.map((s) => s.cron)).toEqual([RETENTION_SWEEP_CRON]);
    expect(RETENTION_SWEEP_CRON).toBe('*/5 * * * *');
    await stopCronSweep(t.app);
  });

  it('a policy gives the record its retention and deletion dates (31 Jan + 1 month = 28 Feb)', async () => {
    await applyPolicy(t.gql, t.db.pool, org.admin.token, {
      module: 'CONTACTS',
      retentionPeriod: { value: 1, unit: 'MONTHS' },
      action: 'MASK',
      actionPeriod: { value: 10, unit: 'DAYS' },
    });
    expect((await contact())!.retention).toEqual({
      state: 'ACTIVE',
      retentionEndsAt: '2025-02-28T10:00:00.000Z',
      deletesAt: '2025-03-10T10:00:00.000Z',
      maskedAt: null,
      legalHold: false,
    });
  });

  it('does nothing a millisecond before the retention date', async () => {
    clock.set('2025-02-28T09:59:59.999Z');
    expect(await sweep()).toEqual({ expired: 0, masked: 0, deleted: 0 });
    expect((await contact())!.firstName).toBe('John');
  });

  it('masks at the retention date: masked renderings in the row, originals only in the vault', async () => {
    clock.set('2025-02-28T10:00:00.000Z');
    expect(await sweep()).toEqual({ expired: 0, masked: 1, deleted: 0 });
    const masked = await contact();
    expect(masked).toMatchObject({
      firstName: 'J***',
      lastName: 'D***',
      email: 'j***@Example.com',
      phone: '******67',
      address: '***',
      notes: '***',
      jobTitle: 'CTO',
      retention: { state: 'MASKED', maskedAt: '2025-02-28T10:00:00.000Z', deletesAt: '2025-03-10T10:00:00.000Z' },
    });
    expect(await count(t.db.pool, 'select count(*)::int as n from retention_vault where record_id = $1', [contactId])).toBe(1);
    expect(await batchActivityTotal(t.db.pool, org.organizationId, 'MASK')).toBe(1);
    const notes = await gqlOk<{ notifications: { kind: string; title: string; body: string }[] }>(t.gql, org.admin.token, '{ notifications { kind title body } }');
    expect(notes.notifications.find((n) => n.kind === 'retention.summary')).toMatchObject({
      title: 'Retention: 1 records masked, 0 deleted',
      body: 'contacts: 1 masked.',
    });
  });

  it('a second sweep at the same time changes nothing (no double masking)', async () => {
    expect(await sweep()).toEqual({ expired: 0, masked: 0, deleted: 0 });
    expect(await batchActivityTotal(t.db.pool, org.organizationId, 'MASK')).toBe(1);
  });

  it('the owner (STANDARD) can neither edit nor move the date of the masked record', async () => {
    const edit = await t.gql(org.standard.token, `mutation($id: ID!) { updateContact(id: $id, input: { jobTitle: "CEO" }) { id } }`, { id: contactId });
    expect(codeOf(edit)).toBe('MASKED_RECORD_ADMIN_ONLY');
    const move = await t.gql(org.standard.token, UPDATE_RECORD_RETENTION, { module: 'CONTACTS', id: contactId, at: '2025-06-01T00:00:00Z' });
    expect(codeOf(move)).toBe('MASKED_RECORD_ADMIN_ONLY');
    expect((await contact())!.retention).toMatchObject({ state: 'MASKED', retentionEndsAt: '2025-02-28T10:00:00.000Z' });
  });

  it('an admin moving the retention date into the future unmasks from the vault; the deletion date moves too', async () => {
    clock.set('2025-03-05T00:00:00.000Z');
    const res = await gqlOk<{ updateRecordRetention: Record<string, unknown> }>(t.gql, org.admin.token, UPDATE_RECORD_RETENTION, {
      module: 'CONTACTS',
      id: contactId,
      at: '2025-03-31T00:00:00.000Z',
    });
    expect(res.updateRecordRetention).toEqual({
      state: 'ACTIVE',
      retentionEndsAt: '2025-03-31T00:00:00.000Z',
      deletesAt: '2025-04-10T00:00:00.000Z',
      maskedAt: null,
      legalHold: false,
    });
    expect(await contact()).toMatchObject({ ...ORIGINAL, id: contactId });
    expect(await count(t.db.pool, 'select count(*)::int as n from retention_vault where record_id = $1', [contactId])).toBe(0);
    const events = await count(t.db.pool, `select count(*)::int as n from activity_events where kind = 'retention.record_unmasked' and subject_id = $1`, [contactId]);
    expect(events).toBe(1);
  });

  it('re-sweeps: nothing before the new date, masked again at it, deleted with a tombstone at the deletion date', async () => {
    clock.set('2025-03-30T23:59:59.000Z');
    expect(await sweep()).toEqual({ expired: 0, masked: 0, deleted: 0 });
    clock.set('2025-03-31T00:00:00.000Z');
    expect(await sweep()).toEqual({ expired: 0, masked: 1, deleted: 0 });
    expect((await contact())!.firstName).toBe('J***');

    clock.set('2025-04-10T00:00:00.000Z');
    expect(await sweep()).toEqual({ expired: 0, masked: 0, deleted: 1 });
    const gone = await t.gql(org.admin.token, `query($id: ID!) { contact(id: $id) { id } }`, { id: contactId });
    expect(codeOf(gone)).toBe('NOT_FOUND');
    expect(await count(t.db.pool, 'select count(*)::int as n from retention_vault')).toBe(0);
    const { rows } = await t.db.pool.query('select * from tombstones where record_id = $1', [contactId]);
    expect(rows).toEqual([
      {
        organization_id: org.organizationId,
        module: 'CONTACTS',
        record_id: contactId,
        deleted_at: new Date('2025-04-10T00:00:00.000Z'),
        reason: 'retention masking period ended',
      },
    ]);
    expect(await batchActivityTotal(t.db.pool, org.organizationId, 'DELETE')).toBe(1);
  });
});

describe('retention lifecycle under a DELETE policy: EXPIRED grace period, rescue by the owner, deletion', () => {
  const clock = new ManualClock('2025-01-01T00:00:00.000Z');
  let t: Started;
  let org: TestOrg;
  let leadId: string;
  const lead = async () =>
    (await gqlOk<{ lead: { firstName: string; retention: Record<string, unknown> } | null }>(t.gql, org.admin.token, `query($id: ID!) { lead(id: $id) { firstName retention { state retentionEndsAt deletesAt } } }`, { id: leadId })).lead;
  const sweep = () => t.app.services.retention.sweep();

  useOrgApp({ clock }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    const created = await gqlOk<{ createLead: { id: string } }>(t.gql, org.standard.token, `mutation { createLead(input: { firstName: "Ann", email: "ann@example.com" }) { id } }`);
    leadId = created.createLead.id;
    // Leap day: one year later is 28 February.
    await t.db.pool.query(`update leads set created_at = '2024-02-29T12:00:00Z', updated_at = '2024-02-29T12:00:00Z' where id = $1`, [leadId]);
    await applyPolicy(t.gql, t.db.pool, org.admin.token, {
      module: 'LEADS',
      retentionPeriod: { value: 1, unit: 'YEARS' },
      action: 'DELETE',
      actionPeriod: { value: 7, unit: 'DAYS' },
    });
  });

  it('29 Feb 2024 + 1 year = 28 Feb 2025; deletion 7 days later', async () => {
    expect((await lead())!.retention).toEqual({ state: 'ACTIVE', retentionEndsAt: '2025-02-28T12:00:00.000Z', deletesAt: '2025-03-07T12:00:00.000Z' });
  });

  it('turns EXPIRED at the retention date and keeps the data during the grace period', async () => {
    clock.set('2025-02-28T12:00:00.000Z');
    expect(await sweep()).toEqual({ expired: 1, masked: 0, deleted: 0 });
    expect(await lead()).toMatchObject({ firstName: 'Ann', retention: { state: 'EXPIRED' } });
  });

  it('the owner rescues it with a future date: ACTIVE again, deletion date moved with it', async () => {
    clock.set('2025-03-01T00:00:00.000Z');
    const res = await gqlOk<{ updateRecordRetention: Record<string, unknown> }>(t.gql, org.standard.token, UPDATE_RECORD_RETENTION, {
      module: 'LEADS',
      id: leadId,
      at: '2025-03-31T00:00:00.000Z',
    });
    expect(res.updateRecordRetention).toMatchObject({ state: 'ACTIVE', retentionEndsAt: '2025-03-31T00:00:00.000Z', deletesAt: '2025-04-07T00:00:00.000Z' });
    clock.set('2025-03-07T12:00:00.000Z');
    expect(await sweep()).toEqual({ expired: 0, masked: 0, deleted: 0 });
  });

  it('a legal hold exempts it; lifting the hold lets the sweep delete it, leaving a tombstone', async () => {
    await gqlOk(t.gql, org.admin.token, `mutation($id: ID!) { setLegalHold(module: LEADS, id: $id, hold: true) { legalHold } }`, { id: leadId });
    clock.set('2025-04-07T00:00:00.000Z');
    expect(await sweep()).toEqual({ expired: 0, masked: 0, deleted: 0 });
    const lifted = await gqlOk<{ setLegalHold: { legalHold: boolean } }>(t.gql, org.admin.token, `mutation($id: ID!) { setLegalHold(module: LEADS, id: $id, hold: false) { legalHold } }`, { id: leadId });
    expect(lifted.setLegalHold.legalHold).toBe(false);
    expect(await sweep()).toEqual({ expired: 1, masked: 0, deleted: 1 });
    expect(codeOf(await t.gql(org.admin.token, `query($id: ID!) { lead(id: $id) { id } }`, { id: leadId }))).toBe('NOT_FOUND');
    expect(await count(t.db.pool, `select count(*)::int as n from tombstones where record_id = $1 and module = 'LEADS' and reason = 'retention period ended'`, [leadId])).toBe(1);
    const holds = await count(t.db.pool, `select count(*)::int as n from activity_events where kind = 'retention.legal_hold_changed'`);
    expect(holds).toBe(2);
  });
});

describe('advance notice to admins', () => {
  const clock = new ManualClock('2025-06-01T08:00:00.000Z');
  let t: Started;
  let org: TestOrg;
  const notices = async () =>
    (await gqlOk<{ notifications: { kind: string; title: string; body: string }[] }>(t.gql, org.admin.token, '{ notifications(first: 100) { kind title body } }')).notifications.filter(
      (n) => n.kind === 'retention.notice',
    );

  useOrgApp({ clock }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    // Policy: 30 days then MASK (kept 60 days). Due: two on 4 June, one on 11 June.
    await insertContacts(t.db.pool, org.organizationId, [
      { createdAt: '2025-05-05T09:00:00Z' },
      { createdAt: '2025-05-05T10:00:00Z' },
      { createdAt: '2025-05-12T09:00:00Z' },
    ]);
    await applyPolicy(t.gql, t.db.pool, org.admin.token, {
      module: 'CONTACTS',
      retentionPeriod: { value: 30, unit: 'DAYS' },
      action: 'MASK',
      actionPeriod: { value: 60, unit: 'DAYS' },
    });
  });

  it('tells admins once per due day, noticeDays (default 7) ahead, not on every sweep', async () => {
    await t.app.services.retention.sweep();
    expect(await notices()).toEqual([
      { kind: 'retention.notice', title: 'Retention: 2 records due within 7 days', body: 'Due by the end of 2025-06-08 (UTC): contacts: 2 to be masked.' },
    ]);
    clock.set('2025-06-01T08:05:00.000Z');
    await t.app.services.retention.sweep();
    clock.set('2025-06-01T23:55:00.000Z');
    await t.app.services.retention.sweep();
    expect(await notices()).toHaveLength(1);

    clock.set('2025-06-04T00:00:00.000Z');
    await t.app.services.retention.sweep();
    const all = await notices();
    expect(all).toHaveLength(2);
    expect(all[0]).toEqual({ kind: 'retention.notice', title: 'Retention: 1 records due within 7 days', body: 'Due by the end of 2025-06-11 (UTC): contacts: 1 to be masked.' });
  });

  it('noticeDays is configurable (0 turns the notice off)', async () => {
    const res = await gqlOk<{ setRetentionNoticeDays: { noticeDays: number } }>(t.gql, org.admin.token, 'mutation { setRetentionNoticeDays(days: 0) { noticeDays } }');
    expect(res.setRetentionNoticeDays.noticeDays).toBe(0);
    clock.set('2025-06-20T00:00:00.000Z');
    await t.app.services.retention.sweep();
    expect(await notices()).toHaveLength(2);
  });
});
