import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskRecord, maskSqlExpressions, PERSONAL_FIELDS } from '../../src/modules/retention/masking.ts';
import { addPeriod, computeRecordDates, PERIOD_UNITS, periodToPgInterval, type Period } from '../../src/modules/retention/retention-dates.ts';
import { utcPlus } from '../../src/modules/retention/retention-records.repository.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import {
  applyPolicy,
  count,
  gqlOk,
  insertContacts,
  insertLeads,
  SET_ENABLED,
  stateCounts,
  stopCronSweep,
  UPDATE_POLICY,
  waitForRecompute,
} from '../support/retention-helpers.ts';
import { startTestApp } from '../support/test-app.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { useOrgApp } from '../support/org-app.ts';

type Started = Awaited<ReturnType<typeof startTestApp>>;

/** A time zone with DST and an odd offset: calendar arithmetic in it would differ from UTC. */
const SESSION_TZ = 'America/New_York';

const EDGES: [string, Period, string][] = [
  ['2025-01-31T10:00:00.000Z', { value: 1, unit: 'MONTHS' }, '2025-02-28T10:00:00.000Z'],
  ['2024-01-31T10:00:00.000Z', { value: 1, unit: 'MONTHS' }, '2024-02-29T10:00:00.000Z'],
  ['2024-03-31T23:30:00.000Z', { value: 1, unit: 'MONTHS' }, '2024-04-30T23:30:00.000Z'],
  ['2024-02-29T12:00:00.000Z', { value: 1, unit: 'YEARS' }, '2025-02-28T12:00:00.000Z'],
  ['2024-02-29T12:00:00.000Z', { value: 4, unit: 'YEARS' }, '2028-02-29T12:00:00.000Z'],
  ['2024-02-29T12:00:00.000Z', { value: 12, unit: 'MONTHS' }, '2025-02-28T12:00:00.000Z'],
  ['2024-12-31T23:59:59.999Z', { value: 2, unit: 'MONTHS' }, '2025-02-28T23:59:59.999Z'],
  ['2024-08-31T00:00:00.000Z', { value: 6, unit: 'MONTHS' }, '2025-02-28T00:00:00.000Z'],
  // Across New York's DST changes: a UTC day stays 24 h.
  ['2024-03-09T06:30:00.000Z', { value: 1, unit: 'DAYS' }, '2024-03-10T06:30:00.000Z'],
  ['2024-11-02T05:30:00.000Z', { value: 1, unit: 'WEEKS' }, '2024-11-09T05:30:00.000Z'],
  ['2024-10-31T04:00:00.000Z', { value: 1, unit: 'MONTHS' }, '2024-11-30T04:00:00.000Z'],
  ['2025-01-01T00:00:00.000Z', { value: 1000, unit: 'YEARS' }, '3025-01-01T00:00:00.000Z'],
];

describe('retention dates: TypeScript and PostgreSQL agree (session in another time zone)', () => {
  let t: Started;
  beforeAll(async () => {
    const db = await createTestDatabase();
    const { rows } = await db.pool.query<{ name: string }>('select current_database() as name');
    // Sessions opened from now on (the app's) run in SESSION_TZ; timestamptz values read the same either way.
    await db.pool.query(`alter database "${rows[0]!.name}" set timezone to '${SESSION_TZ}'`);
    t = await startTestApp({ db });
    await stopCronSweep(t.app);
  });
  afterAll(async () => {
    await t.close();
    await t.db.drop();
  });

  async function sqlAdd(dates: Date[], periods: Period[]): Promise<Date[]> {
    const { rows } = await t.app.services.pool.query<{ r: Date }>(
      `select ${utcPlus('x.ts', 'x.iv::interval')} as r from unnest($1::timestamptz[], $2::text[]) with ordinality as x(ts, iv, i) order by x.i`,
      [dates, periods.map(periodToPgInterval)],
    );
    return rows.map((r) => r.r);
  }

  it('the app’s sessions really run in the other time zone', async () => {
    const { rows } = await t.app.services.pool.query<{ tz: string }>("select current_setting('TimeZone') as tz");
    expect(rows[0]!.tz).toBe(SESSION_TZ);
  });

  it('edge dates: 31st, leap day, year end, DST days', async () => {
    const got = await sqlAdd(
      EDGES.map(([d]) => new Date(d)),
      EDGES.map(([, p]) => p),
    );
    EDGES.forEach(([date, period, expected], i) => {
      expect(addPeriod(new Date(date), period).toISOString(), `${date} + ${period.value} ${period.unit} (TS)`).toBe(expected);
      expect(got[i]!.toISOString(), `${date} + ${period.value} ${period.unit} (SQL)`).toBe(expected);
    });
  });

  it('property: for random instants and periods, SQL = addPeriod to the millisecond', async () => {
    const samples = fc.sample(
      fc.record({
        date: fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-12-31T23:59:59.999Z'), noInvalidDate: true }),
        period: fc.record({ value: fc.integer({ min: 0, max: 1000 }), unit: fc.constantFrom(...PERIOD_UNITS) }),
      }),
      { numRuns: 2_000, seed: 20260101 },
    );
    const got = await sqlAdd(
      samples.map((s) => s.date),
      samples.map((s) => s.period),
    );
    const mismatches = samples.filter((s, i) => got[i]!.getTime() !== addPeriod(s.date, s.period).getTime());
    expect(mismatches).toEqual([]);
  });

  it('masking: the SQL expressions render exactly what the TS functions do', async () => {
    const values = [null, '', 'John', 'jOHN', 'Émile', '😀smile', ' lead', 'a', 'John.Doe@Example.com', 'x@y', '@example.com',
      'no-at-sign', 'a@b@c.org', 'trailing@', '+65 9123 4567', '7', 'no digits', '******67', 'j***@Example.com', 'J***'];
    for (const module of ['LEADS', 'CONTACTS'] as const) {
      const fields = PERSONAL_FIELDS[module];
      const expressions = maskSqlExpressions(module, 'v');
      for (const value of values) {
        const record = Object.fromEntries(fields.map((f) => [f, value]));
        const columns = Object.keys(expressions);
        const { rows } = await t.app.services.pool.query<Record<string, string | null>>(
          `select ${columns.map((c) => `${expressions[c as keyof typeof expressions]} as ${c}`).join(', ')}
           from (select ${columns.map((c) => `$1::text as ${c}`).join(', ')}) v`,
          [value],
        );
        const masked = maskRecord(module, record);
        const expected = Object.fromEntries(
          columns.map((c) => [c, masked[fields.find((f) => f.replace(/[A-Z]/g, (l) => `_${l.toLowerCase()}`) === c)!]]),
        );
        expect(rows[0], `${module} ${JSON.stringify(value)}`).toEqual(expected);
      }
    }
  });

  it('a recomputed module gets exactly computeRecordDates for edge creation dates', async () => {
    const org = await createOrg(t.app);
    const created = EDGES.slice(0, 8).map(([d]) => d);
    const ids = await insertContacts(t.db.pool, org.organizationId, created.map((createdAt) => ({ createdAt })));
    const policy = { basis: 'CREATED_AT' as const, retentionPeriod: { value: 1, unit: 'MONTHS' as const }, action: 'DELETE' as const, actionPeriod: { value: 1, unit: 'YEARS' as const } };
    await applyPolicy(t.gql, t.db.pool, org.admin.token, { module: 'CONTACTS', ...policy });
    const { rows } = await t.db.pool.query<{ id: string; created_at: Date; retention_ends_at: Date; deletes_at: Date }>(
      'select id, created_at, retention_ends_at, deletes_at from contacts where id = any($1)',
      [ids],
    );
    expect(rows).toHaveLength(created.length);
    for (const row of rows) {
      const expected = computeRecordDates({ createdAt: row.created_at, updatedAt: row.created_at }, policy);
      expect({ r: row.retention_ends_at.toISOString(), d: row.deletes_at.toISOString() }).toEqual({
        r: expected.retentionEndsAt.toISOString(),
        d: expected.deletesAt.toISOString(),
      });
    }
  });
});

describe('retention dates on record writes, policy changes and the organization switch', () => {
  const clock = new ManualClock('2025-06-01T00:00:00.000Z');
  let t: Started;
  let org: TestOrg;
  const RETENTION = 'retention { state retentionEndsAt deletesAt }';

  useOrgApp({ clock }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
  });

  it('no dates while retention is off', async () => {
    const res = await gqlOk<{ createContact: { retention: unknown } }>(t.gql, org.admin.token, `mutation { createContact(input: { firstName: "Off" }) { ${RETENTION} } }`);
    expect(res.createContact.retention).toEqual({ state: 'ACTIVE', retentionEndsAt: null, deletesAt: null });
  });

  it('insert: dates from createdAt; update under CREATED_AT: dates unchanged', async () => {
    await applyPolicy(t.gql, t.db.pool, org.admin.token, { module: 'CONTACTS', retentionPeriod: { value: 2, unit: 'YEARS' }, action: 'DELETE', actionPeriod: { value: 0, unit: 'DAYS' } });
    const res = await gqlOk<{ createContact: { id: string; createdAt: string; retention: Record<string, string> } }>(t.gql, org.admin.token, `mutation { createContact(input: { firstName: "Ann" }) { id createdAt ${RETENTION} } }`);
    const expected = addPeriod(new Date(res.createContact.createdAt), { value: 2, unit: 'YEARS' }).toISOString();
    expect(res.createContact.retention).toEqual({ state: 'ACTIVE', retentionEndsAt: expected, deletesAt: expected });
    const updated = await gqlOk<{ updateContact: { retention: unknown } }>(t.gql, org.admin.token, `mutation($id: ID!) { updateContact(id: $id, input: { lastName: "B" }) { ${RETENTION} } }`, { id: res.createContact.id });
    expect(updated.updateContact.retention).toEqual(res.createContact.retention);
  });

  it('UPDATED_AT: every update moves the dates, and brings an EXPIRED record back to ACTIVE', async () => {
    await gqlOk(t.gql, org.admin.token, UPDATE_POLICY, { input: { module: 'CONTACTS', enabled: true, basis: 'UPDATED_AT', retentionPeriod: { value: 30, unit: 'DAYS' }, action: 'DELETE', actionPeriod: { value: 90, unit: 'DAYS' } } });
    await waitForRecompute(t.db.pool);
    const [id] = await insertContacts(t.db.pool, org.organizationId, [{ createdAt: '2025-04-01T00:00:00Z' }]);
    await t.app.services.retention.recompute(org.organizationId, 'CONTACTS');
    await t.app.services.retention.sweep();
    expect(await count(t.db.pool, `select count(*)::int as n from contacts where id = $1 and retention_state = 'EXPIRED'`, [id])).toBe(1);
    const res = await gqlOk<{ updateContact: { updatedAt: string; retention: Record<string, string> } }>(t.gql, org.admin.token, `mutation($id: ID!) { updateContact(id: $id, input: { jobTitle: "Back" }) { updatedAt ${RETENTION} } }`, { id });
    const ends = addPeriod(new Date(res.updateContact.updatedAt), { value: 30, unit: 'DAYS' });
    expect(res.updateContact.retention).toEqual({
      state: 'ACTIVE',
      retentionEndsAt: ends.toISOString(),
      deletesAt: addPeriod(ends, { value: 90, unit: 'DAYS' }).toISOString(),
    });
  });

  it('toggle off clears every date of 2,000 records (masked stay masked); toggle on recomputes; policy change recomputes', async () => {
    const other = await createOrg(t.app);
    const seed = Array.from({ length: 2_000 }, (_, i) => ({ createdAt: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString() }));
    await insertContacts(t.db.pool, other.organizationId, seed);
    await applyPolicy(t.gql, t.db.pool, other.admin.token, { module: 'CONTACTS', retentionPeriod: { value: 90, unit: 'DAYS' }, action: 'MASK', actionPeriod: { value: 1, unit: 'YEARS' } });
    const dated = `select count(*)::int as n from contacts where organization_id = $1 and retention_ends_at is not null and deletes_at is not null`;
    expect(await count(t.db.pool, dated, [other.organizationId])).toBe(2_000);
    // 1 Jan + 90 days = 1 Apr; at 1 Apr 12:00 the first 13 hours of records are due.
    clock.set('2025-04-01T12:00:00.000Z');
    expect(await t.app.services.retention.sweep({ organizationId: other.organizationId })).toEqual({ expired: 0, masked: 13, deleted: 0 });

    await gqlOk(t.gql, other.admin.token, SET_ENABLED, { enabled: false });
    await waitForRecompute(t.db.pool);
    const anyDate = `select count(*)::int as n from contacts where organization_id = $1 and (retention_ends_at is not null or deletes_at is not null)`;
    expect(await count(t.db.pool, anyDate, [other.organizationId])).toBe(0);
    expect(await stateCounts(t.db.pool, 'contacts', other.organizationId)).toEqual({ ACTIVE: 1_987, MASKED: 13 });
    expect(await count(t.db.pool, `select count(*)::int as n from contacts where organization_id = $1 and retention_state = 'MASKED' and first_name like '%***'`, [other.organizationId])).toBe(13);
    expect(await count(t.db.pool, 'select count(*)::int as n from retention_vault where organization_id = $1', [other.organizationId])).toBe(13);
    // "for good": sweeps while off do nothing.
    clock.set('2026-12-31T00:00:00.000Z');
    expect(await t.app.services.retention.sweep({ organizationId: other.organizationId })).toEqual({ expired: 0, masked: 0, deleted: 0 });
    clock.set('2025-04-01T12:00:00.000Z');

    await gqlOk(t.gql, other.admin.token, SET_ENABLED, { enabled: true });
    await waitForRecompute(t.db.pool);
    expect(await count(t.db.pool, dated, [other.organizationId])).toBe(2_000);
    // Masked records: their masking day stands in for the retention date they lost.
    expect(await count(t.db.pool, `select count(*)::int as n from contacts where organization_id = $1 and retention_state = 'MASKED' and retention_ends_at = masked_at`, [other.organizationId])).toBe(13);

    await gqlOk(t.gql, other.admin.token, UPDATE_POLICY, { input: { module: 'CONTACTS', enabled: true, retentionPeriod: { value: 1, unit: 'YEARS' }, action: 'MASK', actionPeriod: { value: 1, unit: 'YEARS' } } });
    await waitForRecompute(t.db.pool);
    const moved = `select count(*)::int as n from contacts where organization_id = $1 and retention_state = 'ACTIVE'
      and retention_ends_at = ((created_at at time zone 'UTC') + interval '1 year') at time zone 'UTC'`;
    expect(await count(t.db.pool, moved, [other.organizationId])).toBe(1_987);

    const events = await t.db.pool.query<{ kind: string; data: unknown }>(
      `select kind, data from activity_events where organization_id = $1 and kind like 'retention.%_changed' order by id`,
      [other.organizationId],
    );
    expect(events.rows.map((e) => e.kind)).toEqual([
      'retention.settings_changed',
      'retention.policy_changed',
      'retention.settings_changed',
      'retention.settings_changed',
      'retention.policy_changed',
    ]);
    expect(events.rows[2]!.data).toEqual({ before: { enabled: true }, after: { enabled: false } });
    expect(events.rows[4]!.data).toMatchObject({ module: 'CONTACTS', before: { retentionPeriod: { value: 90, unit: 'DAYS' } }, after: { retentionPeriod: { value: 1, unit: 'YEARS' } } });
  });

  it('after a bulk load (seed: no write hooks), afterBulkLoad gives the new records their dates', async () => {
    const ids = await insertContacts(t.db.pool, org.organizationId, [{ createdAt: '2025-05-01T00:00:00Z' }, { createdAt: '2025-05-02T00:00:00Z' }]);
    const undated = 'select count(*)::int as n from contacts where id = any($1) and retention_ends_at is null';
    expect(await count(t.db.pool, undated, [ids])).toBe(2);
    await t.app.services.afterBulkLoad!(org.organizationId);
    expect(await count(t.db.pool, undated, [ids])).toBe(0);
  });

  it('turning a policy off clears its module’s dates and leaves the other module alone', async () => {
    const third = await createOrg(t.app);
    await insertContacts(t.db.pool, third.organizationId, [{ createdAt: '2025-01-01T00:00:00Z' }]);
    await insertLeads(t.db.pool, third.organizationId, [{ createdAt: '2025-01-01T00:00:00Z' }]);
    const policy = { retentionPeriod: { value: 1, unit: 'YEARS' }, action: 'DELETE' as const, actionPeriod: { value: 0, unit: 'DAYS' } };
    await applyPolicy(t.gql, t.db.pool, third.admin.token, { module: 'CONTACTS', ...policy });
    await applyPolicy(t.gql, t.db.pool, third.admin.token, { module: 'LEADS', ...policy });
    const dated = (table: string) => count(t.db.pool, `select count(*)::int as n from ${table} where organization_id = $1 and retention_ends_at is not null`, [third.organizationId]);
    expect([await dated('contacts'), await dated('leads')]).toEqual([1, 1]);
    await gqlOk(t.gql, third.admin.token, UPDATE_POLICY, { input: { module: 'CONTACTS', enabled: false, ...policy } });
    await waitForRecompute(t.db.pool);
    expect([await dated('contacts'), await dated('leads')]).toEqual([0, 1]);
  });
});
