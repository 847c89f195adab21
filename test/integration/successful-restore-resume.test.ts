import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODULES } from '../../src/modules/crm/crm.modules.ts';
import { StaleAttempt, writeBatch } from '../../src/modules/restore/import-batch.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { crashAfterBatches, csvOf, moduleRows, restoreServiceOf, SimulatedCrash, upload, wipe } from '../support/restore-helpers.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

/*
 * A worker that dies mid-import: the batches it committed are whole, the job row says how far it got, and the
 * rerun (pg-boss retries the job) resumes after the last committed row and ends exactly where an uninterrupted
 * import ends. The test drives the attempts itself (an api-only app has no worker) and makes the first attempt
 * "crash" after two committed batches (a batch writer that throws then). test/integration/successful-restore-crash
 * kills a real worker process.
 */
describe('import crash and rerun', () => {
  let t: TestApp;
  let org: TestOrg;
  let storage: string;
  beforeAll(async () => {
    storage = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-restore-test-'));
    t = await startTestApp({ role: 'api', env: { STORAGE_DIR: storage } });
    org = await createOrg(t.app);
  });
  afterAll(async () => {
    await t.close();
    await fs.rm(storage, { recursive: true, force: true });
  });

  const rows = (n: number) =>
    Array.from({ length: n }, (_v, i) => ({
      id: randomUUID(),
      firstName: `P${i}`,
      email: i === 7 ? 'broken' : `p${i}@example.com`,
      createdAt: Date.UTC(2026, 0, 1) + i,
      updatedAt: Date.UTC(2026, 0, 1) + i,
    }));
  const job = async (id: string) =>
    (
      await t.app.services.pool.query<{ status: string; processedRows: number; created: number; failed: number; checkpoint: unknown; attempts: number; error: string | null }>(
        `select status, processed_rows as "processedRows", created, failed, checkpoint, attempts, error from import_jobs where id = $1`,
        [id],
      )
    ).rows[0]!;

  it.each([1, 2])('leaves whole batches only, then resumes after the checkpoint and converges (%i batch(es) in flight)', async (parallelBatches) => {
    const pool = t.app.services.pool;
    const data = rows(23);
    const file = { data: csvOf('CONTACTS', data), name: 'contacts.csv' };
    // With two in flight, the third batch waits for the second to commit, sees it "crash" and rolls back: the
    // job still holds exactly two batches.
    const restore = restoreServiceOf(t.app, { options: { parallelBatches } });
    const small = { batchSize: 5, parallelBatches };
    const crashing = restoreServiceOf(t.app, { options: small, writeBatch: crashAfterBatches(2) });
    const rerun = restoreServiceOf(t.app, { options: small });

    // The reference: the same file imported without interruption.
    await wipe(pool, org.organizationId);
    const clean = await upload(t.url, org.admin.token, { file, module: 'CONTACTS' });
    await restore.runJob({ importId: clean.body.importId!, organizationId: org.organizationId });
    const expected = await moduleRows(pool, org.organizationId, 'CONTACTS');
    expect(expected).toHaveLength(22);

    await wipe(pool, org.organizationId);
    const res = await upload(t.url, org.admin.token, { file, module: 'CONTACTS' });
    const importId = res.body.importId!;
    await expect(crashing.runJob({ importId, organizationId: org.organizationId })).rejects.toBeInstanceOf(SimulatedCrash);
    // Two whole batches of five rows (row 9, the broken email, is one of them), nothing of the third.
    expect(await job(importId)).toMatchObject({ status: 'RUNNING', processedRows: 10, created: 9, failed: 1, checkpoint: { table: 0, row: 11 }, attempts: 1 });
    const partial = await moduleRows(pool, org.organizationId, 'CONTACTS');
    expect(partial.map((r) => r.id)).toEqual(expected.filter((r) => data.slice(0, 10).some((d) => d.id === r.id)).map((r) => r.id));

    await rerun.runJob({ importId, organizationId: org.organizationId });
    expect(await job(importId)).toMatchObject({ status: 'COMPLETED', processedRows: 23, created: 22, failed: 1, attempts: 2 });
    expect(await moduleRows(pool, org.organizationId, 'CONTACTS')).toEqual(expected);

    // A late duplicate delivery of the finished job changes nothing.
    await rerun.runJob({ importId, organizationId: org.organizationId });
    expect(await job(importId)).toMatchObject({ status: 'COMPLETED', attempts: 2 });
  });

  it('gives up after three interrupted attempts: FAILED with a reason, the rows committed so far kept', async () => {
    const pool = t.app.services.pool;
    await wipe(pool, org.organizationId);
    const crashing = restoreServiceOf(t.app, { options: { batchSize: 5, parallelBatches: 1 }, writeBatch: crashAfterBatches(1) });
    const res = await upload(t.url, org.admin.token, { file: { data: csvOf('CONTACTS', rows(30)), name: 'contacts.csv' }, module: 'CONTACTS' });
    const importId = res.body.importId!;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const run = crashing.runJob({ importId, organizationId: org.organizationId });
      if (attempt < 3) await expect(run).rejects.toBeInstanceOf(SimulatedCrash);
      else await run; // the last attempt records the failure instead of asking for a retry
    }
    expect(await job(importId)).toMatchObject({ status: 'FAILED', processedRows: 15, attempts: 3 });
    expect((await job(importId)).error).toMatch(/internal error; the rows imported so far are kept/);
    expect(await moduleRows(pool, org.organizationId, 'CONTACTS')).toHaveLength(14);
  });

  it('fences off a superseded run: its batch rolls back whole and it cannot finish the job', async () => {
    const pool = t.app.services.pool;
    await wipe(pool, org.organizationId);
    const crashing = restoreServiceOf(t.app, { options: { batchSize: 5 }, writeBatch: crashAfterBatches(1) });
    const res = await upload(t.url, org.admin.token, { file: { data: csvOf('CONTACTS', rows(12)), name: 'contacts.csv' }, module: 'CONTACTS' });
    const importId = res.body.importId!;
    await expect(crashing.runJob({ importId, organizationId: org.organizationId })).rejects.toBeInstanceOf(SimulatedCrash);
    const before = await moduleRows(pool, org.organizationId, 'CONTACTS');
    // The job is now on attempt 1; a run still holding attempt 0 (delivered earlier, then given up on) writes a batch.
    const late = {
      spec: MODULES.CONTACTS,
      file: 'contacts.csv',
      records: [{ row: 99, id: randomUUID(), ownerId: null, createdAt: 0, updatedAt: 0, values: { firstName: 'Late' }, maskedAt: null, legalHold: null }],
      rowErrors: [],
      rows: 1,
      checkpoint: { table: 0, row: 99 },
      errorRoom: 1000,
      after: { table: 0, row: 6 }, // where the job is: only the attempt number is wrong
    };
    await expect(writeBatch({ pool, organizationId: org.organizationId, importId, attempt: 0 }, late, false)).rejects.toBeInstanceOf(StaleAttempt);
    expect(await moduleRows(pool, org.organizationId, 'CONTACTS')).toEqual(before);
    expect(await job(importId)).toMatchObject({ status: 'RUNNING', processedRows: 5, attempts: 1 });
  });
});
