import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import type { TestOrg } from '../support/factories.ts';
import { codeOf, type TestApp } from '../support/test-app.ts';
import { backupsOf } from '../support/backup-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';

const ENABLE = `mutation($input: AutoBackupInput!) { enableAutoBackup(input: $input) { autoBackupEnabled nextRunAt } }`;

describe('enableAutoBackup rejects bad schedules with BAD_USER_INPUT naming the field, and changes nothing', () => {
  let t: TestApp;
  let org: TestOrg;
  let before: { settings: unknown[]; backups: unknown[]; activity: number };
  useOrgApp({ role: 'api', clock: new ManualClock('2026-01-01T00:00:00Z') }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    // A valid schedule first, so "nothing changed" means it is still in force.
    const ok = await t.gql(org.admin.token, ENABLE, { input: { frequency: 'WEEKLY', dayOfWeek: 'FRIDAY', timeOfDay: '03:15' } });
    expect(ok.errors).toBeUndefined();
    before = await state();
  });

  async function state() {
    const pool = t.app.services.pool;
    const settings = (await pool.query('select * from backup_settings where organization_id = $1', [org.organizationId])).rows;
    const backups = await backupsOf(pool, org.organizationId);
    const activity = (await pool.query<{ n: number }>('select count(*)::int as n from activity_events where organization_id = $1', [org.organizationId])).rows[0]!.n;
    return { settings, backups, activity };
  }

  it.each([
    ['an unknown timezone', { frequency: 'WEEKLY', dayOfWeek: 'MONDAY', timeOfDay: '02:00', timezone: 'Mars/Olympus_Mons' }, 'timezone'],
    ['an offset instead of a zone name', { frequency: 'WEEKLY', dayOfWeek: 'MONDAY', timeOfDay: '02:00', timezone: '+08:00' }, 'timezone'],
    ['25:00', { frequency: 'WEEKLY', dayOfWeek: 'MONDAY', timeOfDay: '25:00' }, 'timeOfDay'],
    ['12:60', { frequency: 'WEEKLY', dayOfWeek: 'MONDAY', timeOfDay: '12:60' }, 'timeOfDay'],
    ['a time without a leading zero', { frequency: 'WEEKLY', dayOfWeek: 'MONDAY', timeOfDay: '2:00' }, 'timeOfDay'],
    ['day 0', { frequency: 'MONTHLY', dayOfMonth: 0, timeOfDay: '02:00' }, 'dayOfMonth'],
    ['day 32', { frequency: 'MONTHLY', dayOfMonth: 32, timeOfDay: '02:00' }, 'dayOfMonth'],
    ['WEEKLY without a weekday', { frequency: 'WEEKLY', timeOfDay: '02:00' }, 'dayOfWeek'],
    ['MONTHLY without a day', { frequency: 'MONTHLY', timeOfDay: '02:00' }, 'dayOfMonth'],
    ['WEEKLY with a day of the month', { frequency: 'WEEKLY', dayOfWeek: 'MONDAY', dayOfMonth: 3, timeOfDay: '02:00' }, 'dayOfMonth'],
  ])('%s', async (_label, input, field) => {
    const res = await t.gql(org.admin.token, ENABLE, { input });
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe(field);
    expect(res.errors?.[0]?.message).toContain(field);
    expect(await state()).toEqual(before);
  });

  it('an unknown weekday or frequency never reaches the service (GraphQL enum), and changes nothing', async () => {
    for (const input of [
      { frequency: 'WEEKLY', dayOfWeek: 'FUNDAY', timeOfDay: '02:00' },
      { frequency: 'DAILY', timeOfDay: '02:00' },
    ]) {
      const res = await t.gql(org.admin.token, ENABLE, { input });
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
    }
    expect(await state()).toEqual(before);
  });
});
