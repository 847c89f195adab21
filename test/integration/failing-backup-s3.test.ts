import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_QUEUE, type BackupJobData } from '../../src/modules/backup/backup-state-machine.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { backupRow, seedRecords } from '../support/backup-helpers.ts';
import { startLocalS3, type LocalS3 } from '../support/s3-server.ts';

/** STORAGE_URL names a bucket the S3 store does not have: every attempt fails, cleanly and with a reason. */
describe('a backup to an S3 bucket that does not exist', () => {
  let s3: LocalS3;
  let t: TestApp;
  let org: TestOrg;
  beforeAll(async () => {
    s3 = await startLocalS3();
    t = await startTestApp({ role: 'api', env: { ...s3.env('p'), STORAGE_URL: 's3://no-such-bucket/p' } });
    org = await createOrg(t.app);
    await seedRecords(t.app.services.pool, org.organizationId, { leads: 50, contacts: 50, accounts: 5, deals: 5 });
  });
  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  it('ends FAILED with the store\'s reason, after its retries, and leaves no object anywhere', async () => {
    const res = await t.gql<{ startManualBackup: { id: string } }>(org.admin.token, 'mutation { startManualBackup { id } }');
    const id = res.data!.startManualBackup.id;
    const jobId = (await backupRow(t.app.services.pool, id)).jobId!;
    const job = (await t.app.services.boss.getJobById<BackupJobData>(BACKUP_QUEUE, jobId))!;
    const attempt = (retryCount: number) =>
      t.app.services.backups.runner.run({ id: job.id, data: job.data, retryCount, retryLimit: 3, signal: new AbortController().signal });

    await expect(attempt(0)).rejects.toThrow(/NoSuchBucket/); // pg-boss would retry it
    expect(await backupRow(t.app.services.pool, id)).toMatchObject({ status: 'RUNNING', attempts: 1 });
    await attempt(3);
    const failed = await backupRow(t.app.services.pool, id);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 2, storageKey: null, sha256: null });
    expect(failed.error).toBe('The archive could not be stored (NoSuchBucket)'); // no endpoint, key or credentials
    expect(await s3.keys()).toEqual([]);
  });
});
