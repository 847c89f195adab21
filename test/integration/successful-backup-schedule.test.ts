import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { BACKUP_QUEUE } from '../../src/modules/backup/backup-state-machine.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { codeOf, startTestApp, type TestApp } from '../support/test-app.ts';
import { backupRow, backupsOf, runBackupJobNow, tempStorageDir } from '../support/backup-helpers.ts';

const SETTINGS = `autoBackupEnabled frequency dayOfWeek dayOfMonth timeOfDay timezone nextRunAt updatedAt updatedBy { id }`;
const ENABLE = `mutation($input: AutoBackupInput!) { enableAutoBackup(input: $input) { ${SETTINGS} } }`;
const WEEKLY_MONDAY_2AM = { frequency: 'WEEKLY', dayOfWeek: 'MONDAY', timeOfDay: '02:00' };
// 2026-01-01 is a Thursday; Monday 2026-01-05 02:00 in Singapore (UTC+8) is 2026-01-04T18:00Z.
const T0 = '2026-01-01T00:00:00.000Z';
const FIRST_MONDAY = '2026-01-04T18:00:00.000Z';
const SECOND_MONDAY = '2026-01-11T18:00:00.000Z';

interface Settings {
  autoBackupEnabled: boolean;
  frequency: string | null;
  dayOfWeek: string | null;
  dayOfMonth: number | null;
  timeOfDay: string | null;
  timezone: string;
  nextRunAt: string | null;
  updatedBy: { id: string } | null;
}

/** An api-only app on a ManualClock: scheduled occurrences happen when the test moves the clock and runs the job. */
describe('auto backup schedules', () => {
  const clock = new ManualClock(T0);
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ role: 'api', clock, env: { STORAGE_DIR: await tempStorageDir() } });
  });
  afterAll(async () => t.close());

  const enable = async (org: TestOrg, input: Record<string, unknown> = WEEKLY_MONDAY_2AM) => {
    const res = await t.gql<{ enableAutoBackup: Settings }>(org.admin.token, ENABLE, { input });
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.enableAutoBackup;
  };
  const pendingScheduled = async (org: TestOrg) =>
    (await backupsOf(t.app.services.pool, org.organizationId)).filter((b) => b.trigger === 'SCHEDULED' && b.status === 'PENDING');

  it("plans the next occurrence in the organization's timezone and shows it as nextRunAt", async () => {
    clock.set(T0);
    const org = await createOrg(t.app);
    const settings = await enable(org);
    expect(settings).toMatchObject({
      autoBackupEnabled: true,
      frequency: 'WEEKLY',
      dayOfWeek: 'MONDAY',
      dayOfMonth: null,
      timeOfDay: '02:00',
      timezone: 'Asia/Singapore',
      nextRunAt: FIRST_MONDAY,
      updatedBy: { id: org.admin.userId },
    });
    const [planned, ...more] = await pendingScheduled(org);
    expect(more).toHaveLength(0);
    expect(planned!.scheduledFor?.toISOString()).toBe(FIRST_MONDAY);
    // The job waits in pg-boss for as long as the app's clock says is left (3 days 18 hours).
    const row = await backupRow(t.app.services.pool, planned!.id);
    const job = await t.app.services.boss.getJobById(BACKUP_QUEUE, row.jobId!);
    const waitSeconds = (job!.startAfter.getTime() - Date.now()) / 1000;
    expect(waitSeconds).toBeGreaterThan(3 * 86400 + 18 * 3600 - 60);
    expect(waitSeconds).toBeLessThanOrEqual(3 * 86400 + 18 * 3600 + 1);
    const read = await t.gql<{ backupSettings: Settings }>(org.admin.token, `{ backupSettings { ${SETTINGS} } }`);
    expect(read.data?.backupSettings.nextRunAt).toBe(FIRST_MONDAY);
  });

  it('replaces the schedule when enabled again, and cancels the pending occurrence when disabled', async () => {
    clock.set(T0);
    const org = await createOrg(t.app);
    await enable(org);
    const [old] = await pendingScheduled(org);
    const monthly = await enable(org, { frequency: 'MONTHLY', dayOfMonth: 31, timeOfDay: '23:30', timezone: 'America/New_York' });
    // 31 December 23:30 in New York is still ahead of 2026-01-01T00:00Z.
    expect(monthly).toMatchObject({ frequency: 'MONTHLY', dayOfMonth: 31, dayOfWeek: null, timezone: 'America/New_York', nextRunAt: '2026-01-01T04:30:00.000Z' });
    expect((await backupRow(t.app.services.pool, old!.id)).status).toBe('CANCELLED');
    expect(await pendingScheduled(org)).toHaveLength(1);

    const disabled = await t.gql<{ disableAutoBackup: Settings }>(org.admin.token, `mutation { disableAutoBackup { ${SETTINGS} } }`);
    expect(disabled.data?.disableAutoBackup).toMatchObject({ autoBackupEnabled: false, nextRunAt: null });
    expect(await pendingScheduled(org)).toHaveLength(0);
    const kinds = await activityKinds(org);
    expect(kinds.filter((k) => k === 'backup.settings_changed')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'backup.cancelled')).toHaveLength(2);
  });

  it('runs the occurrence once the clock passes it, notifies every admin, and plans the one after', async () => {
    clock.set(T0);
    const org = await createOrg(t.app);
    const secondAdmin = await t.app.services.auth.createUser({ organizationId: org.organizationId, email: `second.admin.${Date.now()}@example.com`, role: 'ADMIN' });
    await enable(org);
    const [planned] = await pendingScheduled(org);

    clock.set('2026-01-04T17:59:00.000Z'); // a minute early (a job may fire early): it waits
    await runBackupJobNow(t.app, planned!.id);
    const waiting = await backupRow(t.app.services.pool, planned!.id);
    expect(waiting.status).toBe('PENDING');

    clock.set('2026-01-04T18:00:05.000Z');
    await runBackupJobNow(t.app, planned!.id);
    const done = await backupRow(t.app.services.pool, planned!.id);
    expect(done).toMatchObject({ status: 'COMPLETED', trigger: 'SCHEDULED', requestedBy: null });
    const [next, ...more] = await pendingScheduled(org);
    expect(more).toHaveLength(0);
    expect(next!.scheduledFor?.toISOString()).toBe(SECOND_MONDAY);

    const { rows } = await t.app.services.pool.query<{ user_id: string; kind: string; backup_id: string }>(
      'select user_id, kind, backup_id from notifications where organization_id = $1 order by user_id',
      [org.organizationId],
    );
    expect(rows.map((r) => r.user_id).sort()).toEqual([org.admin.userId, secondAdmin.userId].sort());
    expect(rows.every((r) => r.kind === 'backup.completed' && r.backup_id === planned!.id)).toBe(true);
  });

  it('runs occurrences missed while the service was down once, then plans from now', async () => {
    clock.set(T0);
    const org = await createOrg(t.app);
    await enable(org);
    const [planned] = await pendingScheduled(org);
    clock.set('2026-01-27T00:00:00.000Z'); // three Mondays later
    await runBackupJobNow(t.app, planned!.id);
    const all = await backupsOf(t.app.services.pool, org.organizationId);
    expect(all.filter((b) => b.status === 'COMPLETED')).toHaveLength(1);
    const pending = all.filter((b) => b.status === 'PENDING');
    expect(pending).toHaveLength(1);
    expect(pending[0]!.scheduledFor?.toISOString()).toBe('2026-02-01T18:00:00.000Z');
  });

  it('lets a manual backup start while only a scheduled one waits; the scheduled one then waits for it', async () => {
    clock.set(T0);
    const org = await createOrg(t.app);
    await enable(org);
    const [planned] = await pendingScheduled(org);
    const manual = await t.gql<{ startManualBackup: { id: string; status: string } }>(org.admin.token, 'mutation { startManualBackup { id status } }');
    expect(codeOf(manual)).toBeUndefined();
    const manualId = manual.data!.startManualBackup.id;
    const manualRow = await backupRow(t.app.services.pool, manualId);
    const claimed = await t.app.services.backups.runner.claim({ id: manualRow.jobId!, data: { backupId: manualId, organizationId: org.organizationId }, retryCount: 0, retryLimit: 3 });
    expect(claimed.kind).toBe('run');

    clock.set('2026-01-04T18:00:01.000Z');
    const jobBefore = (await backupRow(t.app.services.pool, planned!.id)).jobId;
    await runBackupJobNow(t.app, planned!.id);
    const waiting = await backupRow(t.app.services.pool, planned!.id);
    expect(waiting.status).toBe('PENDING');
    expect(waiting.jobId).not.toBe(jobBefore); // it re-queued itself
    const retry = await t.app.services.boss.getJobById(BACKUP_QUEUE, waiting.jobId!);
    expect(retry?.state).toBe('created');

    await t.app.services.backups.runner.fail(manualId, null, 'ended by the test');
    await runBackupJobNow(t.app, planned!.id);
    expect((await backupRow(t.app.services.pool, planned!.id)).status).toBe('COMPLETED');
  });

  it('plans the following occurrence when the pending one is cancelled', async () => {
    clock.set(T0);
    const org = await createOrg(t.app);
    await enable(org);
    const [planned] = await pendingScheduled(org);
    const res = await t.gql<{ cancelBackup: { status: string } }>(org.admin.token, 'mutation($id: ID!) { cancelBackup(id: $id) { status } }', { id: planned!.id });
    expect(res.data?.cancelBackup.status).toBe('CANCELLED');
    const [next] = await pendingScheduled(org);
    expect(next!.scheduledFor?.toISOString()).toBe(SECOND_MONDAY);
    const settings = await t.gql<{ backupSettings: Settings }>(org.admin.token, `{ backupSettings { nextRunAt } }`);
    expect(settings.data?.backupSettings.nextRunAt).toBe(SECOND_MONDAY);
  });

  it('is idempotent: running the same job again after it finished changes nothing', async () => {
    clock.set(T0);
    const org = await createOrg(t.app);
    const started = await t.gql<{ startManualBackup: { id: string } }>(org.admin.token, 'mutation { startManualBackup { id } }');
    const id = started.data!.startManualBackup.id;
    await runBackupJobNow(t.app, id);
    const first = await backupRow(t.app.services.pool, id);
    await runBackupJobNow(t.app, id);
    const second = await backupRow(t.app.services.pool, id);
    expect(second).toEqual(first);
    expect(first.status).toBe('COMPLETED');
    expect((await activityKinds(org)).filter((k) => k === 'backup.completed')).toHaveLength(1);
  });

  async function activityKinds(org: TestOrg): Promise<string[]> {
    const { rows } = await t.app.services.pool.query<{ kind: string }>(
      'select kind from activity_events where organization_id = $1 order by id',
      [org.organizationId],
    );
    return rows.map((r) => r.kind);
  }
});
