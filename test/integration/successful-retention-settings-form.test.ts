import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import type { TestOrg } from '../support/factories.ts';
import { publishUntilReceived } from '../support/foundation-helpers.ts';
import { contactsPolicy, count, gqlOk, SAVE_SETTINGS, stopCronSweep, waitForRecompute } from '../support/retention-helpers.ts';
import { startTestApp, subscribe, type TestApp } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

const CHANGED = 'subscription { retentionSettingsChanged { enabled recomputing noticeDays policies { module enabled retentionPeriod { value unit } } } }';
type Changed = {
  retentionSettingsChanged: { enabled: boolean; recomputing: boolean; noticeDays: number; policies: { module: string; enabled: boolean }[] };
};

/** The settings page: one save, a spinner while dates are recomputed, and an event when they are done. */
describe('saveRetentionSettings, recomputing and retentionSettingsChanged', () => {
  const clock = new ManualClock('2026-05-01T00:00:00.000Z');
  let t: TestApp & { db: { pool: import('pg').Pool } };
  let org: TestOrg;
  let other: TestOrg;
  let worker: TestApp | undefined;
  // An API-only process: the recompute jobs wait until the test starts a worker.
  useOrgApp({ clock, role: 'api', orgs: 2 }, (ready) => ({ t, org, other } = ready));
  afterAll(async () => worker?.close());

  const activity = () =>
    count(t.db.pool, `select count(*)::int as n from activity_events where organization_id = $1 and kind like 'retention.%'`, [org.organizationId]);

  it('saves the switch and both policies in one request, with an event for the page and activity for the audit', async () => {
    const sub = subscribe<Changed>(t.ws(org.admin.token), CHANGED);
    let days = 7;
    // Proven live first: notice-period changes until one event arrives.
    await publishUntilReceived(
      () => sub.events.length,
      () => gqlOk(t.gql, org.admin.token, 'mutation($d: Int!) { setRetentionNoticeDays(days: $d) { noticeDays } }', { d: (days = days === 7 ? 8 : 7) }),
    );
    const before = sub.events.length;
    const activityBefore = await activity();

    const saved = await gqlOk<{ saveRetentionSettings: { enabled: boolean; recomputing: boolean; policies: { module: string; enabled: boolean; action: string }[] } }>(
      t.gql,
      org.admin.token,
      SAVE_SETTINGS,
      {
        input: {
          enabled: true,
          policies: [
            contactsPolicy({ value: 2, unit: 'YEARS' }),
            contactsPolicy({ value: 6, unit: 'MONTHS' }, { module: 'LEADS', action: 'DELETE', actionPeriod: { value: 0, unit: 'DAYS' } }),
          ],
        },
      },
    );
    expect(saved.saveRetentionSettings).toMatchObject({ enabled: true, recomputing: true });
    expect(saved.saveRetentionSettings.policies.map((p) => [p.module, p.enabled, p.action])).toEqual([
      ['LEADS', true, 'DELETE'],
      ['CONTACTS', true, 'MASK'],
    ]);
    // One switch change and two policy changes, each with its before/after.
    expect((await activity()) - activityBefore).toBe(3);

    const event = await sub.waitFor((e) => e.retentionSettingsChanged.enabled);
    expect(event.retentionSettingsChanged).toMatchObject({ enabled: true, recomputing: true });
    expect(sub.events.length - before).toBe(1);

    // The worker runs the two recomputes; the page hears when they end and reads recomputing: false.
    worker = await startTestApp({ db: t.db as never, role: 'worker', clock });
    await stopCronSweep(worker.app);
    const done = await sub.waitFor((e) => e.retentionSettingsChanged.enabled && !e.retentionSettingsChanged.recomputing, 30_000);
    expect(done.retentionSettingsChanged.recomputing).toBe(false);
    await waitForRecompute(t.db.pool);
    const settings = await gqlOk<{ retentionSettings: { recomputing: boolean } }>(t.gql, org.admin.token, '{ retentionSettings { recomputing } }');
    expect(settings.retentionSettings.recomputing).toBe(false);
    expect(sub.errors).toEqual([]);
    sub.dispose();
  });

  it('a save that changes nothing writes nothing and enqueues nothing', async () => {
    const input = {
      enabled: true,
      policies: [
        contactsPolicy({ value: 2, unit: 'YEARS' }),
        contactsPolicy({ value: 6, unit: 'MONTHS' }, { module: 'LEADS', action: 'DELETE', actionPeriod: { value: 0, unit: 'DAYS' } }),
      ],
    };
    const activityBefore = await activity();
    const recomputes = await count(t.db.pool, 'select count(*)::int as n from retention_recomputes');
    await gqlOk(t.gql, org.admin.token, SAVE_SETTINGS, { input });
    expect(await activity()).toBe(activityBefore);
    expect(await count(t.db.pool, 'select count(*)::int as n from retention_recomputes')).toBe(recomputes);
  });

  it('a finished recompute forgets the organization’s recomputes older than 30 days', async () => {
    await t.db.pool.query(
      `insert into retention_recomputes (organization_id, module, as_of, created_at) values ($1, 'LEADS', 0, $2::timestamptz - interval '31 days')`,
      [org.organizationId, clock.now()],
    );
    const old = () =>
      count(t.db.pool, `select count(*)::int as n from retention_recomputes where organization_id = $1 and created_at < $2::timestamptz - interval '30 days'`, [
        org.organizationId,
        clock.now(),
      ]);
    expect(await old()).toBe(1);
    await gqlOk(t.gql, org.admin.token, SAVE_SETTINGS, { input: { enabled: true, policies: [contactsPolicy({ value: 3, unit: 'YEARS' })] } });
    await waitForRecompute(t.db.pool);
    expect(await old()).toBe(0);
    expect(await count(t.db.pool, 'select count(*)::int as n from retention_recomputes where finished_at is null and organization_id = $1', [org.organizationId])).toBe(0);
  });

  it('recomputing is per organization, and a job cancelled or failed for good no longer counts', async () => {
    // A recompute of the other organization that waits (startAfter in an hour): its tracking row and live job.
    const jobId = await t.app.services.boss.send(
      'retention-recompute',
      { organizationId: other.organizationId, module: 'CONTACTS' },
      { startAfter: 3600 },
    );
    await t.db.pool.query(`insert into retention_recomputes (organization_id, module, as_of, job_id) values ($1, 'CONTACTS', 0, $2)`, [
      other.organizationId,
      jobId,
    ]);
    const flag = async (token: string) =>
      (await gqlOk<{ retentionSettings: { recomputing: boolean } }>(t.gql, token, '{ retentionSettings { recomputing } }')).retentionSettings
        .recomputing;
    expect(await flag(other.admin.token)).toBe(true);
    expect(await flag(org.admin.token)).toBe(false);
    await t.app.services.boss.cancel('retention-recompute', jobId!);
    expect(await flag(other.admin.token)).toBe(false);
  });
});
