import { beforeAll, describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import type { TestApp } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

describe('the activity stream is append-only in the database', () => {
  let t: TestApp;
  let org: TestOrg;
  let id: number;
  useOrgApp({}, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    const row = await t.app.services.activity.record({ organizationId: org.organizationId, kind: 'test.event', summary: 'original' });
    id = row.id;
  });

  it('refuses UPDATE and DELETE and keeps the row as written', async () => {
    await expect(t.app.services.pool.query("update activity_events set summary = 'rewritten' where id = $1", [id])).rejects.toThrow(/append-only/);
    await expect(t.app.services.pool.query('delete from activity_events where id = $1', [id])).rejects.toThrow(/append-only/);
    const { rows } = await t.app.services.pool.query('select summary from activity_events where id = $1', [id]);
    expect(rows).toEqual([{ summary: 'original' }]);
  });

  it('still lets a user be deleted (their events keep a null actor)', async () => {
    await t.app.services.activity.record({ organizationId: org.organizationId, kind: 'test.by-user', actorId: org.standard.userId, summary: 'by user' });
    await t.app.services.pool.query('delete from users where id = $1', [org.standard.userId]);
    const { rows } = await t.app.services.pool.query("select actor_id from activity_events where kind = 'test.by-user'");
    expect(rows).toEqual([{ actor_id: null }]);
  });
});
