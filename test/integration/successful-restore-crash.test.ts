import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BOSS_SCHEMA } from '../../src/jobs/boss.ts';
import { IMPORT_QUEUE } from '../../src/modules/restore/restore.service.ts';
import { csvOf, eventually, moduleRows, upload, wipe } from '../support/restore-helpers.ts';
import { startTestApp, TEST_SECRET } from '../support/test-app.ts';
import { startWorkerProcess, useCrashScene } from '../support/worker-process.ts';

const ROWS = 600;
const BATCH = 50;

interface JobRow {
  status: string;
  processedRows: number;
  created: number;
  failed: number;
  checkpoint: { table: number; row: number } | null;
  attempts: number;
}

/**
 * A worker killed with SIGKILL in the middle of an import: the batches it committed are whole, pg-boss retries
 * the job on a surviving worker, the run resumes after the last committed row, and the records end exactly as an
 * uninterrupted import leaves them.
 */
describe('an import worker killed mid-import', () => {
  const scene = useCrashScene();

  const job = async (id: string): Promise<JobRow> =>
    (
      await scene.api.app.services.pool.query<JobRow>(
        `select status, processed_rows as "processedRows", created, failed, checkpoint, attempts from import_jobs where id = $1`,
        [id],
      )
    ).rows[0]!;

  it('resumes after the last committed batch on another worker and ends exactly like an uninterrupted import', async () => {
    const { api, org, storage } = scene;
    const pool = api.app.services.pool;
    const data = Array.from({ length: ROWS }, (_v, i) => ({
      id: randomUUID(),
      firstName: `P${i}`,
      email: i % 97 === 5 ? 'broken' : `p${i}@example.com`,
      createdAt: Date.UTC(2026, 0, 1) + i,
      updatedAt: Date.UTC(2026, 0, 2) + i,
    }));
    const file = { data: csvOf('CONTACTS', data), name: 'contacts.csv' };

    // The reference: the same file imported without interruption (the api app has no worker: run it here).
    const clean = await upload(api.url, org.admin.token, { file, module: 'CONTACTS' });
    await api.app.services.restore.runJob({ importId: clean.body.importId!, organizationId: org.organizationId });
    const reference = await job(clean.body.importId!);
    const expected = await moduleRows(pool, org.organizationId, 'CONTACTS');
    expect(expected).toHaveLength(reference.created);
    await wipe(pool, org.organizationId);

    const worker = (scene.worker = await startWorkerProcess({
      DATABASE_URL: api.db.url,
      STORAGE_DIR: storage,
      DATA_DIR: storage,
      APP_SECRET: TEST_SECRET,
      IMPORT_BATCH_SIZE: String(BATCH),
      IMPORT_BATCH_DELAY_MS: '250', // the worker's batches wait before writing, so there is a "middle"
    }));
    const res = await upload(api.url, org.admin.token, { file, module: 'CONTACTS' });
    expect(res.status).toBe(202);
    const id = res.body.importId!;
    await eventually(async () => (await job(id)).processedRows >= 2 * BATCH, 'two committed batches', 60_000);
    worker.child.kill('SIGKILL');
    await new Promise((resolve) => worker!.child.once('exit', resolve));

    // Whole batches only: the job row and the records agree, and the rest is still to do.
    const killed = await job(id);
    expect(killed).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(killed.processedRows % BATCH).toBe(0);
    expect(killed.processedRows).toBeLessThan(ROWS);
    expect(killed.checkpoint).toEqual({ table: 0, row: killed.processedRows + 1 }); // row 1 is the header
    expect(await moduleRows(pool, org.organizationId, 'CONTACTS')).toHaveLength(killed.created);

    // A surviving worker. pg-boss's supervisor fails a job whose heartbeat stopped (30 s) on its next pass;
    // the test asks for passes now rather than waiting for the timer.
    const survivor = (scene.survivor = await startTestApp({ role: 'worker', db: api.db, env: { STORAGE_DIR: storage } }));
    const boss = survivor.app.services.boss;
    await eventually(async () => {
      await survivor!.app.services.pool.query(`update ${BOSS_SCHEMA}.queue set monitor_claim_on = null, monitor_on = null where name = $1`, [IMPORT_QUEUE]);
      await boss.supervise(IMPORT_QUEUE);
      return (await job(id)).status !== 'RUNNING';
    }, 'the retried import to finish', 120_000);

    expect(await job(id)).toMatchObject({
      status: 'COMPLETED',
      processedRows: ROWS,
      created: reference.created,
      failed: reference.failed,
      attempts: 2,
    });
    expect(await moduleRows(pool, org.organizationId, 'CONTACTS')).toEqual(expected);
  }, 180_000);
});
