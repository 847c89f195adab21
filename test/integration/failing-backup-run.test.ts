import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_QUEUE, type BackupJobData } from '../../src/modules/backup/backup-state-machine.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { backupRow } from '../support/backup-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';

/** A store that cannot be written (STORAGE_DIR is a file): every attempt fails. */
describe('a backup whose archive cannot be written', () => {
  let t: TestApp;
  let org: TestOrg;
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-backup-broken-'));
    const notADirectory = path.join(dir, 'file');
    await fs.writeFile(notADirectory, 'x');
    t = await startTestApp({ role: 'api', env: { STORAGE_DIR: notADirectory } });
    org = await createOrg(t.app);
    await t.app.services.auth.createUser({ organizationId: org.organizationId, email: `other.admin.${Date.now()}@example.com`, role: 'ADMIN' });
  });
  afterAll(async () => {
    await t.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('is retried while retries remain, then ends FAILED with an error, a notification to the requester and an activity event', async () => {
    const res = await t.gql<{ startManualBackup: { id: string } }>(org.admin.token, 'mutation { startManualBackup { id } }');
    const id = res.data!.startManualBackup.id;
    const jobId = (await backupRow(t.app.services.pool, id)).jobId!;
    const job = (await t.app.services.boss.getJobById<BackupJobData>(BACKUP_QUEUE, jobId))!;
    const attempt = (retryCount: number) => t.app.services.backups.runner.run({ id: job.id, data: job.data, retryCount, retryLimit: 3, signal: new AbortController().signal });

    await expect(attempt(0)).rejects.toThrow(); // pg-boss would retry it
    const afterFirst = await backupRow(t.app.services.pool, id);
    expect(afterFirst).toMatchObject({ status: 'RUNNING', attempts: 1 });

    await attempt(3); // the last retry takes the row over, fails, and says so
    const failed = await backupRow(t.app.services.pool, id);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 2, storageKey: null });
    expect(failed.error).toBe('The archive could not be stored (ENOTDIR)'); // no server path

    const read = await t.gql<{ backup: { status: string; error: string; downloadable: boolean } }>(org.admin.token, 'query($id: ID!) { backup(id: $id) { status error downloadable } }', { id });
    expect(read.data?.backup).toMatchObject({ status: 'FAILED', downloadable: false });
    const { rows: notes } = await t.app.services.pool.query('select user_id, kind, backup_id from notifications where organization_id = $1', [org.organizationId]);
    expect(notes).toEqual([{ user_id: org.admin.userId, kind: 'backup.failed', backup_id: id }]);
    const { rows: activity } = await t.app.services.pool.query<{ kind: string }>(
      `select kind from activity_events where subject_id = $1 order by id`,
      [id],
    );
    expect(activity.map((a) => a.kind)).toEqual(['backup.pending', 'backup.started', 'backup.started', 'backup.failed']);

    // A replay of any attempt afterwards is a no-op.
    await attempt(3);
    expect(await backupRow(t.app.services.pool, id)).toEqual(failed);
  });
});

/** The watchdog: nothing stays RUNNING without a live job, and no PENDING backup waits for a job that is gone. */
describe('the backup watchdog', () => {
  const clock = new ManualClock('2026-03-01T00:00:00.000Z');
  let t: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  useOrgApp({ role: 'api', clock, orgs: 2 }, (ready) => ({ t, org, other } = ready));

  const start = async (who: TestOrg) =>
    (await t.gql<{ startManualBackup: { id: string } }>(who.admin.token, 'mutation { startManualBackup { id } }')).data!.startManualBackup.id;

  it('fails a RUNNING backup whose job is over, re-sends the job of an overdue PENDING one, and leaves healthy ones alone', async () => {
    const orphaned = await start(org);
    const row = await backupRow(t.app.services.pool, orphaned);
    await t.app.services.backups.runner.claim({ id: row.jobId!, data: { backupId: orphaned, organizationId: org.organizationId }, retryCount: 0, retryLimit: 3 });
    const lost = await start(other);
    const lostJob = (await backupRow(t.app.services.pool, lost)).jobId!;
    // As if their jobs had been purged (retries exhausted, retention): nothing would ever run them again.
    for (const jobId of [row.jobId!, lostJob]) await t.app.services.boss.deleteJob(BACKUP_QUEUE, jobId);

    expect(await t.app.services.backups.watchdog()).toEqual({ failed: 1, requeued: 0 }); // the PENDING one is not overdue yet
    expect(await backupRow(t.app.services.pool, orphaned)).toMatchObject({ status: 'FAILED' });
    const { rows } = await t.app.services.pool.query('select kind from notifications where backup_id = $1', [orphaned]);
    expect(rows).toEqual([{ kind: 'backup.failed' }]);

    clock.advance(3 * 60_000);
    expect(await t.app.services.backups.watchdog()).toEqual({ failed: 0, requeued: 1 });
    const requeued = await backupRow(t.app.services.pool, lost);
    expect(requeued.status).toBe('PENDING');
    expect(requeued.jobId).not.toBe(lostJob);
    expect((await t.app.services.boss.getJobById(BACKUP_QUEUE, requeued.jobId!))?.state).toBe('created');
    expect(await t.app.services.backups.watchdog()).toEqual({ failed: 0, requeued: 0 });
  });
});
