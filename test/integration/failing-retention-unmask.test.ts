import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import type { TestOrg } from '../support/factories.ts';
import { applyPolicy, insertContacts, stopCronSweep, UPDATE_RECORD_RETENTION } from '../support/retention-helpers.ts';
import { codeOf, type TestApp } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

describe('unmasking a masked record with no originals in the vault', () => {
  const clock = new ManualClock('2026-06-01T00:00:00.000Z');
  let t: TestApp;
  let org: TestOrg;
  let id: string;
  useOrgApp({ clock }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    await stopCronSweep(t.app);
    [id = ''] = await insertContacts(t.app.services.pool, org.organizationId, [{ createdAt: '2020-01-01T00:00:00.000Z' }]);
    await applyPolicy(t.gql, t.app.services.pool, org.admin.token, {
      module: 'CONTACTS',
      retentionPeriod: { value: 1, unit: 'YEARS' },
      action: 'MASK',
      actionPeriod: { value: 30, unit: 'DAYS' },
    });
    // As a restore leaves it: masked values, state MASKED, and no vault entry.
    await t.app.services.pool.query(
      "update contacts set first_name = 'F***', email = 'f***@example.com', retention_state = 'MASKED', masked_at = now() where id = $1",
      [id],
    );
  });

  it('answers RECORD_NOT_UNMASKABLE and leaves the record masked and its dates unchanged', async () => {
    const before = await t.app.services.pool.query('select * from contacts where id = $1', [id]);
    const res = await t.gql(org.admin.token, UPDATE_RECORD_RETENTION, { module: 'CONTACTS', id, at: '2030-01-01T00:00:00.000Z' });
    expect(codeOf(res)).toBe('RECORD_NOT_UNMASKABLE');
    const after = await t.app.services.pool.query('select * from contacts where id = $1', [id]);
    expect(after.rows[0]).toEqual(before.rows[0]);
  });
});
