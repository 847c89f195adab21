import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOSS_SCHEMA } from '../../src/jobs/boss.ts';
import { BACKUP_QUEUE } from '../../src/modules/backup/backup-state-machine.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { codeOf, startTestApp, TEST_SECRET } from '../support/test-app.ts';
import { backupRow, eventually, seedRecords, tempStorageDir, verifyZip, type RunningApp } from '../support/backup-helpers.ts';
import { startLocalS3, unfinishedUploadParts, type LocalS3 } from '../support/s3-server.ts';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.ts';

const SEED = { leads: 20_000, contacts: 40_000, accounts: 1000, deals: 1000 };
const PREFIX = 'crash';
const LINK = 'mutation($id: ID!) { createBackupDownloadLink(id: $id) { url } }';

/**
 * A worker killed with SIGKILL while its archive streams into an S3 multipart upload: parts have reached the
 * store, yet no object becomes visible; the retry on a surviving worker writes exactly one archive, byte for byte.
 */
describe('a backup worker killed mid-upload to S3', () => {
  let s3: LocalS3;
  let api: RunningApp;
  let org: TestOrg;
  let worker: WorkerProcess | undefined;
  let survivor: RunningApp | undefined;

  beforeAll(async () => {
    s3 = await startLocalS3();
    api = await startTestApp({ role: 'api', env: s3.env(PREFIX) });
    org = await createOrg(api.app);
    await seedRecords(api.app.services.pool, org.organizationId, SEED);
  });
  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await survivor?.close();
    await api?.close();
    await s3?.close();
  });

  it('leaves no object, and the retry stores exactly one whole archive', async () => {
    const dataDir = await tempStorageDir();
    worker = await startWorkerProcess({
      ...s3.env(PREFIX),
      DATABASE_URL: api.db.url,
      APP_SECRET: TEST_SECRET,
      DATA_DIR: dataDir,
      S3_PART_SIZE: String(5 * 1024 * 1024),
      BACKUP_CHUNK_DELAY_MS: '10', // the worker's uploads are slowed down, so there is a "middle"
    });
    const res = await api.gql<{ startManualBackup: { id: string } }>(org.admin.token, 'mutation { startManualBackup { id } }');
    const id = res.data!.startManualBackup.id;

    // Mid-upload: the multipart upload holds at least one part in the store.
    await eventually(async () => (await unfinishedUploadParts(s3)).length > 0, 'a part of the archive in the store', 90_000);
    expect((await backupRow(api.app.services.pool, id)).status).toBe('RUNNING');
    worker.child.kill('SIGKILL');
    await new Promise((resolve) => worker!.child.once('exit', resolve));

    expect(await s3.keys()).toEqual([]); // parts, but no object
    expect((await unfinishedUploadParts(s3)).length).toBeGreaterThan(0);
    expect(await backupRow(api.app.services.pool, id)).toMatchObject({ status: 'RUNNING', attempts: 1, storageKey: null });
    expect(codeOf(await api.gql(org.admin.token, LINK, { id }))).toBe('BACKUP_NOT_DOWNLOADABLE');
    await expect(fs.readdir(path.join(dataDir, 'backups'))).rejects.toMatchObject({ code: 'ENOENT' }); // no local copy

    // A surviving worker; pg-boss's supervisor is asked for passes now rather than on its 60 s timer.
    survivor = await startTestApp({ role: 'worker', db: api.db, env: s3.env(PREFIX) });
    const boss = survivor.app.services.boss;
    await eventually(async () => {
      await survivor!.app.services.pool.query(`update ${BOSS_SCHEMA}.queue set monitor_claim_on = null, monitor_on = null where name = $1`, [BACKUP_QUEUE]);
      await boss.supervise(BACKUP_QUEUE);
      const row = await backupRow(api.app.services.pool, id);
      return row.attempts >= 2 || row.status !== 'RUNNING';
    }, 'the job to be retried', 60_000);
    const done = await eventually(async () => {
      const row = await backupRow(api.app.services.pool, id);
      return row.status === 'RUNNING' ? undefined : row;
    }, 'the retried backup to finish', 90_000);
    expect(done).toMatchObject({ status: 'COMPLETED', attempts: 2, storageKey: `${org.organizationId}/${id}-2.zip` });
    expect(done.sizeBytes).toBeGreaterThan(5 * 1024 * 1024); // the killed attempt was truly mid-upload, between parts

    expect(await s3.keys()).toEqual([`${PREFIX}/${done.storageKey}`]);
    const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${done.storageKey}` }));
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.sha256);
    const file = path.join(dataDir, done.fileName!);
    await fs.writeFile(file, bytes);
    expect((await verifyZip(file)).manifest).toMatchObject({ backupId: id });
    expect(codeOf(await api.gql(org.admin.token, LINK, { id }))).toBeUndefined();
  }, 240_000);
});
