import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultCipher } from '../../src/modules/retention/vault-crypto.ts';
import { vaultContext } from '../../src/modules/retention/retention-records.service.ts';
import type { SweepResult } from '../../src/modules/retention/retention-sweep.service.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { crmSnapshot } from '../support/foundation-helpers.ts';
import {
  applyPolicy,
  batchActivityTotal,
  count,
  gqlOk,
  insertContacts,
  insertLeads,
  PREVIEW,
  stateCounts,
  stopCronSweep,
  type SeedContact,
} from '../support/retention-helpers.ts';
import { startTestApp, TEST_SECRET } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

type Started = Awaited<ReturnType<typeof startTestApp>>;
const DAY = 86_400_000;
const sum = (results: SweepResult[]): SweepResult =>
  results.reduce((a, b) => ({ expired: a.expired + b.expired, masked: a.masked + b.masked, deleted: a.deleted + b.deleted }));

describe('concurrent sweeps (two app instances on one database) never process a record twice', () => {
  const clock = new ManualClock('2025-02-15T00:00:00.000Z');
  let a: Started;
  let b: Started;
  let org: TestOrg;
  const N = 3_000;

  beforeAll(async () => {
    a = await startTestApp({ clock });
    b = await startTestApp({ db: a.db, clock });
    await stopCronSweep(a.app);
    org = await createOrg(a.app);
    const seed = Array.from({ length: N }, (_, i) => ({ createdAt: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString() }));
    await insertContacts(a.db.pool, org.organizationId, seed);
    await applyPolicy(a.gql, a.db.pool, org.admin.token, {
      module: 'CONTACTS',
      retentionPeriod: { value: 1, unit: 'MONTHS' },
      action: 'MASK',
      actionPeriod: { value: 1, unit: 'MONTHS' },
    });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('skips rows another transaction holds instead of waiting for them', async () => {
    const holder = await a.db.pool.connect();
    try {
      await holder.query('begin');
      await holder.query(`select id from contacts where organization_id = $1 order by id limit 500 for update`, [org.organizationId]);
      const result = await a.app.services.retention.sweep({ organizationId: org.organizationId, batchSize: 400 });
      expect(result).toEqual({ expired: 0, masked: N - 500, deleted: 0 });
    } finally {
      await holder.query('rollback');
      holder.release();
    }
    expect(await a.app.services.retention.sweep({ organizationId: org.organizationId })).toEqual({ expired: 0, masked: 500, deleted: 0 });
    // Undo for the next test: all back to ACTIVE with their originals.
    await a.db.pool.query(`delete from retention_vault`);
    await a.db.pool.query(`delete from contacts where organization_id = $1`, [org.organizationId]);
    const seed = Array.from({ length: N }, (_, i) => ({ createdAt: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString() }));
    await insertContacts(a.db.pool, org.organizationId, seed);
    await a.app.services.retention.recompute(org.organizationId, 'CONTACTS');
  });

  it('MASK: two sweeps at once mask each record exactly once; every vault entry holds the originals', async () => {
    const before = await batchActivityTotal(a.db.pool, org.organizationId, 'MASK');
    const results = await Promise.all([
      a.app.services.retention.sweep({ batchSize: 100 }),
      b.app.services.retention.sweep({ batchSize: 100 }),
      a.app.services.retention.sweep({ batchSize: 150 }),
    ]);
    expect(sum(results)).toEqual({ expired: 0, masked: N, deleted: 0 });
    expect(await count(a.db.pool, 'select count(*)::int as n from retention_vault where organization_id = $1', [org.organizationId])).toBe(N);
    expect((await batchActivityTotal(a.db.pool, org.organizationId, 'MASK')) - before).toBe(N);
    expect(await stateCounts(a.db.pool, 'contacts', org.organizationId)).toEqual({ MASKED: N });
    // A record masked twice would have its masked values in the vault instead of the originals.
    const cipher = createVaultCipher(TEST_SECRET);
    const { rows } = await a.db.pool.query<{ record_id: string; ciphertext: Buffer }>('select record_id, ciphertext from retention_vault where organization_id = $1', [org.organizationId]);
    const doubled = rows.filter((r) => {
      const originals = JSON.parse(cipher.decrypt(r.ciphertext, vaultContext(org.organizationId, 'CONTACTS', r.record_id)).toString()) as Record<string, string>;
      return !/^First\d+$/.test(originals.firstName ?? '') || originals.email?.includes('***');
    });
    expect(doubled).toEqual([]);
  });

  it('DELETE: two sweeps at once delete each record once, with one tombstone each and no vault entry left', async () => {
    clock.set('2025-04-01T02:00:00.000Z');
    const results = await Promise.all([
      a.app.services.retention.sweep({ batchSize: 100 }),
      b.app.services.retention.sweep({ batchSize: 100 }),
    ]);
    expect(sum(results)).toEqual({ expired: 0, masked: 0, deleted: N });
    expect(await count(a.db.pool, 'select count(*)::int as n from tombstones where organization_id = $1', [org.organizationId])).toBe(N);
    expect(await count(a.db.pool, 'select count(*)::int as n from retention_vault')).toBe(0);
    expect(await count(a.db.pool, 'select count(*)::int as n from contacts where organization_id = $1', [org.organizationId])).toBe(0);
    expect(await batchActivityTotal(a.db.pool, org.organizationId, 'DELETE')).toBe(N);
  });
});

/**
 * One shape of data for both modules at 2025-07-01 under "6 months, then 14 days":
 *   5 due long ago (retention 1 Jun, deletion 15 Jun), 4 in grace (25 Jun / 9 Jul), 2 due soon (10 Jul / 24 Jul),
 *   3 due later (20 Jul / 3 Aug), 1 far off (1 Dec), 2 on legal hold and long due.
 */
function seedShape(): SeedContact[] {
  const at = (date: string, n: number, legalHold = false) => Array.from({ length: n }, () => ({ createdAt: date, legalHold }));
  return [
    ...at('2024-12-01T00:00:00Z', 5),
    ...at('2024-12-25T00:00:00Z', 4),
    ...at('2025-01-10T00:00:00Z', 2),
    ...at('2025-01-20T00:00:00Z', 3),
    ...at('2025-06-01T00:00:00Z', 1),
    ...at('2024-11-01T00:00:00Z', 2, true),
  ];
}

describe('retentionPreview counts what the sweep then does, and changes nothing', () => {
  const clock = new ManualClock('2025-07-01T00:00:00.000Z');
  let t: Started;
  let org: TestOrg;
  const policy = (module: 'LEADS' | 'CONTACTS', action: 'MASK' | 'DELETE') => ({
    module,
    enabled: true,
    retentionPeriod: { value: 6, unit: 'MONTHS' },
    action,
    actionPeriod: { value: 14, unit: 'DAYS' },
  });
  type Preview = { module: string; activeRecords: number; expiredNow: number; actionDueNow: number; actionDueWithin30Days: number; deletionDueNow: number; deletionDueWithin30Days: number };
  const preview = async (input: Record<string, unknown>) =>
    (await gqlOk<{ retentionPreview: Preview }>(t.gql, org.admin.token, PREVIEW, { input })).retentionPreview;
  /** Sweeps once a day for 30 days (the real cadence is every 5 minutes; daily is enough at day granularity). */
  const sweepDaily = async () => {
    const results: SweepResult[] = [];
    for (let day = 1; day <= 30; day++) {
      clock.set(new Date(Date.parse('2025-07-01T00:00:00.000Z') + day * DAY));
      results.push(await t.app.services.retention.sweep({ organizationId: org.organizationId }));
    }
    return sum(results);
  };

  useOrgApp({ clock }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    await insertLeads(t.db.pool, org.organizationId, seedShape());
    await insertContacts(t.db.pool, org.organizationId, seedShape());
  });

  it('previews without changing any record, setting, job or event', async () => {
    const jobs = 'select count(*)::int as n from pgboss.job';
    const before = { crm: await crmSnapshot(t.db.pool), jobs: await count(t.db.pool, jobs), events: await count(t.db.pool, 'select count(*)::int as n from activity_events') };
    expect(await preview(policy('LEADS', 'DELETE'))).toEqual({
      module: 'LEADS',
      activeRecords: 8,
      expiredNow: 9,
      actionDueNow: 5,
      actionDueWithin30Days: 6,
      deletionDueNow: 5,
      deletionDueWithin30Days: 6,
    });
    expect(await preview({ ...policy('LEADS', 'DELETE'), enabled: false })).toMatchObject({ activeRecords: 17, expiredNow: 0, actionDueNow: 0 });
    const after = { crm: await crmSnapshot(t.db.pool), jobs: await count(t.db.pool, jobs), events: await count(t.db.pool, 'select count(*)::int as n from activity_events') };
    expect(after).toEqual(before);
    expect(await count(t.db.pool, 'select count(*)::int as n from retention_policies')).toBe(0);
  });

  it('DELETE: the sweep now and over the next 30 days does what the preview said', async () => {
    const said = await preview(policy('LEADS', 'DELETE'));
    await applyPolicy(t.gql, t.db.pool, org.admin.token, policy('LEADS', 'DELETE'));
    const now = await t.app.services.retention.sweep({ organizationId: org.organizationId });
    expect(now).toEqual({ expired: said.expiredNow, masked: 0, deleted: said.actionDueNow });
    const states = await stateCounts(t.db.pool, 'leads', org.organizationId);
    expect(states.ACTIVE).toBe(said.activeRecords);
    const soon = await sweepDaily();
    expect(soon.deleted).toBe(said.actionDueWithin30Days);
    expect(soon.deleted).toBe(said.deletionDueWithin30Days);
  });

  it('MASK: the sweep now and over the next 30 days does what the preview said', async () => {
    clock.set('2025-07-01T00:00:00.000Z');
    const said = await preview(policy('CONTACTS', 'MASK'));
    expect(said).toEqual({
      module: 'CONTACTS',
      activeRecords: 8,
      expiredNow: 0,
      actionDueNow: 4,
      actionDueWithin30Days: 5,
      deletionDueNow: 5,
      deletionDueWithin30Days: 6,
    });
    await applyPolicy(t.gql, t.db.pool, org.admin.token, policy('CONTACTS', 'MASK'));
    const leadsBefore = await stateCounts(t.db.pool, 'leads', org.organizationId);
    const now = await t.app.services.retention.sweep({ organizationId: org.organizationId });
    // The leads (DELETE policy, swept above) are in grace or active: nothing due for them at 1 July any more.
    expect(await stateCounts(t.db.pool, 'leads', org.organizationId)).toEqual(leadsBefore);
    expect(now).toEqual({ expired: 0, masked: said.actionDueNow, deleted: said.deletionDueNow });
    expect((await stateCounts(t.db.pool, 'contacts', org.organizationId)).ACTIVE).toBe(said.activeRecords);
    const contactsOnly = await t.db.pool.query<{ pass: string; n: number }>(
      `select data->>'pass' as pass, sum((data->>'count')::int)::int as n from activity_events
       where organization_id = $1 and kind = 'retention.sweep_batch' and data->>'module' = 'CONTACTS'
       group by 1 order by 1`,
      [org.organizationId],
    );
    expect(contactsOnly.rows).toEqual([
      { pass: 'DELETE', n: 5 },
      { pass: 'MASK', n: 4 },
    ]);
    const before = { masked: await batchActivityTotal(t.db.pool, org.organizationId, 'MASK') };
    await sweepDaily();
    const masked = (await batchActivityTotal(t.db.pool, org.organizationId, 'MASK')) - before.masked;
    expect(masked).toBe(said.actionDueWithin30Days);
    const deletedContacts = await count(t.db.pool, `select count(*)::int as n from tombstones where organization_id = $1 and module = 'CONTACTS'`, [org.organizationId]);
    expect(deletedContacts - said.deletionDueNow).toBe(said.deletionDueWithin30Days);
  });
});

describe('keyset pages by (created_at, id): records created at the same instant are neither skipped nor repeated', () => {
  const clock = new ManualClock('2025-03-01T00:00:00.000Z');
  let t: Started;
  let org: TestOrg;

  useOrgApp({ clock }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    // A bulk import: 500 records sharing one created_at, around a few others.
    const same = Array.from({ length: 500 }, () => ({ createdAt: '2025-01-01T00:00:00.000Z' }));
    await insertContacts(t.db.pool, org.organizationId, [{ createdAt: '2024-12-31T23:59:59.999Z' }, ...same, { createdAt: '2025-01-01T00:00:00.001Z' }]);
    await applyPolicy(t.gql, t.db.pool, org.admin.token, { module: 'CONTACTS', retentionPeriod: { value: 1, unit: 'DAYS' }, action: 'MASK', actionPeriod: { value: 1, unit: 'YEARS' } });
  });

  it('recompute in pages of 7 dates every record', async () => {
    await t.db.pool.query('update contacts set retention_ends_at = null, deletes_at = null where organization_id = $1', [org.organizationId]);
    expect(await t.app.services.retention.recompute(org.organizationId, 'CONTACTS', 7)).toEqual({ scanned: 502, changed: 502 });
    expect(await count(t.db.pool, 'select count(*)::int as n from contacts where organization_id = $1 and retention_ends_at is null', [org.organizationId])).toBe(0);
  });

  it('a sweep in batches of 7 masks every record once', async () => {
    const batches: number[] = [];
    const result = await t.app.services.retention.sweep({ organizationId: org.organizationId, batchSize: 7, onBatch: (b) => batches.push(b.count) });
    expect(result).toEqual({ expired: 0, masked: 502, deleted: 0 });
    expect(batches.reduce((a, b) => a + b, 0)).toBe(502);
    expect(Math.max(...batches)).toBe(7);
    expect(await count(t.db.pool, 'select count(*)::int as n from retention_vault where organization_id = $1', [org.organizationId])).toBe(502);
  });
});
