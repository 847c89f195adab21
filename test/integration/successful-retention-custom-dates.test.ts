import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import type { TestOrg } from '../support/factories.ts';
import { holdLock } from '../support/lock-holder.ts';
import {
  contactRetention,
  contactsPolicy,
  count,
  gqlOk,
  SAVE_SETTINGS,
  stopCronSweep,
  UPDATE_RECORD_RETENTION,
  waitForRecompute,
} from '../support/retention-helpers.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

const DAY = 86_400_000;

/**
 * The report, replayed with the recompute held back: an API-only process takes the requests (its jobs
 * wait in the queue), and a worker process is started on the same database when the test wants the jobs run.
 */
describe('custom retention dates: the recompute enqueued before a hand change leaves it alone', () => {
  const clock = new ManualClock('2026-06-15T12:00:00.000Z');
  let t: TestApp & { db: { url: string; pool: import('pg').Pool } };
  let org: TestOrg;
  let worker: TestApp | undefined;

  useOrgApp({ clock, role: 'api' }, (ready) => ({ t, org } = ready));
  afterAll(async () => worker?.close());

  const recomputing = async () =>
    (await gqlOk<{ retentionSettings: { recomputing: boolean } }>(t.gql, org.admin.token, '{ retentionSettings { recomputing } }'))
      .retentionSettings.recomputing;

  it('turned on, a contact created, its date set to yesterday: the recompute keeps it, the sweep masks it', async () => {
    await gqlOk(t.gql, org.admin.token, SAVE_SETTINGS, {
      input: { enabled: true, policies: [contactsPolicy({ value: 2, unit: 'YEARS' })] },
    });
    expect(await recomputing()).toBe(true);

    const created = await gqlOk<{ createContact: { id: string } }>(t.gql, org.admin.token, 'mutation { createContact(input: { firstName: "Ada" }) { id } }');
    const id = created.createContact.id;
    expect((await contactRetention(t.gql, org.admin.token, id)).retention.source).toBe('POLICY');
    const yesterday = new Date(clock.now().getTime() - DAY).toISOString();
    const changed = await gqlOk<{ updateRecordRetention: { retentionEndsAt: string } }>(t.gql, org.admin.token, UPDATE_RECORD_RETENTION, {
      module: 'CONTACTS',
      id,
      at: yesterday,
    });
    expect(changed.updateRecordRetention.retentionEndsAt).toBe(yesterday);

    // The change came after the recompute was enqueued: its version is above the one the job carries.
    const { rows } = await t.db.pool.query<{ later: boolean }>(
      `select c.retention_version > r.as_of as later from contacts c, retention_recomputes r
       where c.id = $1 and r.organization_id = c.organization_id and r.module = 'CONTACTS' and r.finished_at is null`,
      [id],
    );
    expect(rows).toEqual([{ later: true }]);

    worker = await startTestApp({ db: t.db as never, role: 'worker', clock });
    await stopCronSweep(worker.app);
    await waitForRecompute(t.db.pool);
    expect(await recomputing()).toBe(false);
    const after = await contactRetention(t.gql, org.admin.token, id);
    expect(after.retention).toMatchObject({ state: 'ACTIVE', retentionEndsAt: yesterday, source: 'CUSTOM' });

    expect(await t.app.services.retention.sweep({ organizationId: org.organizationId })).toMatchObject({ masked: 1 });
    const masked = await contactRetention(t.gql, org.admin.token, id);
    expect(masked.retention).toMatchObject({ state: 'MASKED', retentionEndsAt: yesterday, source: 'CUSTOM' });
    expect(masked.firstName).not.toBe('Ada');
  });

  it('a hand change committed while a recompute statement runs wins (the UPDATE compares the row version)', async () => {
    const created = await gqlOk<{ createContact: { id: string } }>(t.gql, org.admin.token, 'mutation { createContact(input: { firstName: "Bo" }) { id } }');
    const id = created.createContact.id;
    const policyDate = (await contactRetention(t.gql, org.admin.token, id)).retention.retentionEndsAt;
    // Knock the date off the policy's, so the recompute has this row to write.
    await t.db.pool.query(`update contacts set retention_ends_at = retention_ends_at - interval '1 day' where id = $1`, [id]);
    const custom = new Date('2027-01-01T00:00:00.000Z');
    // The hand change's own statement (as setRecordRetention writes it), in a transaction held open.
    const holder = await holdLock(t.db.url, (c) =>
      c.query(
        `update contacts set retention_ends_at = $2, deletes_at = $2::timestamptz + interval '30 days', retention_source = 'CUSTOM',
           retention_version = nextval('retention_version_seq') where id = $1`,
        [id, custom],
      ),
    );
    const recompute = t.app.services.retention.recompute(org.organizationId, 'CONTACTS');
    await holder.waiters(1);
    await holder.release();
    await recompute;
    const after = await contactRetention(t.gql, org.admin.token, id);
    expect(after.retention).toMatchObject({ retentionEndsAt: custom.toISOString(), source: 'CUSTOM' });
    expect(after.retention.retentionEndsAt).not.toBe(policyDate);
  });

  it('a recompute leaves alone a record changed by hand after its version, and brings it to the policy without one', async () => {
    const created = await gqlOk<{ createContact: { id: string } }>(t.gql, org.admin.token, 'mutation { createContact(input: { firstName: "Cy" }) { id } }');
    const id = created.createContact.id;
    const policyDate = (await contactRetention(t.gql, org.admin.token, id)).retention.retentionEndsAt;
    const { rows } = await t.db.pool.query<{ v: string }>(`select nextval('retention_version_seq') as v`);
    const asOf = Number(rows[0]!.v);
    // A POLICY date under rules newer than the recompute's (what a reset after a later policy change writes).
    await t.db.pool.query(
      `update contacts set retention_ends_at = retention_ends_at + interval '1 year', retention_version = nextval('retention_version_seq') where id = $1`,
      [id],
    );
    const moved = (await contactRetention(t.gql, org.admin.token, id)).retention.retentionEndsAt;
    await t.app.services.retention.recompute(org.organizationId, 'CONTACTS', 5000, asOf);
    expect((await contactRetention(t.gql, org.admin.token, id)).retention.retentionEndsAt).toBe(moved);
    await t.app.services.retention.recompute(org.organizationId, 'CONTACTS', 5000, null);
    expect((await contactRetention(t.gql, org.admin.token, id)).retention.retentionEndsAt).toBe(policyDate);
  });

  it('every recompute of the organization is finished once its jobs ran', async () => {
    expect(await count(t.db.pool, 'select count(*)::int as n from retention_recomputes where finished_at is null')).toBe(0);
  });
});
