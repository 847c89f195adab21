import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as repo from '../../src/modules/backup/backup.repository.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { codeOf, startTestApp } from '../support/test-app.ts';
import { backupRow, backupsOf, tempStorageDir, type RunningApp } from '../support/backup-helpers.ts';

const START = 'mutation { startManualBackup { id } }';
const CANCEL = 'mutation($id: ID!) { cancelBackup(id: $id) { status } }';

/** Two api processes on one database (no worker: the tests start backups themselves, at the worst moment). */
describe('backup races are settled by the database', () => {
  let a: RunningApp;
  let b: RunningApp;
  let org: TestOrg;
  beforeAll(async () => {
    const storage = await tempStorageDir();
    a = await startTestApp({ role: 'api', env: { STORAGE_DIR: storage } });
    b = await startTestApp({ role: 'api', db: a.db, env: { STORAGE_DIR: storage } });
    org = await createOrg(a.app);
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('admits exactly one of dozens of concurrent startManualBackup calls through two api instances', async () => {
    const calls = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).gql<{ startManualBackup: { id: string } }>(org.admin.token, START));
    const results = await Promise.all(calls);
    const admitted = results.filter((r) => !r.errors);
    expect(admitted).toHaveLength(1);
    expect(results.filter((r) => codeOf(r) === 'BACKUP_IN_PROGRESS')).toHaveLength(39);
    const rows = await backupsOf(a.app.services.pool, org.organizationId);
    expect(rows).toEqual([expect.objectContaining({ id: admitted[0]!.data!.startManualBackup.id, status: 'PENDING', trigger: 'MANUAL' })]);
    await a.gql(org.admin.token, CANCEL, { id: rows[0]!.id });
  });

  it('lets exactly one of cancel and start win when both are fired at once (through the service, 25 times)', async () => {
    let cancelledWins = 0;
    let startWins = 0;
    for (let i = 0; i < 25; i += 1) {
      const started = await a.gql<{ startManualBackup: { id: string } }>(org.admin.token, START);
      const id = started.data!.startManualBackup.id;
      const row = await backupRow(a.app.services.pool, id);
      const job = { id: row.jobId!, data: { backupId: id, organizationId: org.organizationId }, retryCount: 0, retryLimit: 3 };
      const [cancel, claim] = await Promise.all([b.gql(org.admin.token, CANCEL, { id }), a.app.services.backups.runner.claim(job)]);
      const after = await backupRow(a.app.services.pool, id);
      if (claim.kind === 'run') {
        startWins += 1;
        expect(codeOf(cancel)).toBe('BACKUP_ALREADY_STARTED');
        expect(after.status).toBe('RUNNING');
        await a.app.services.backups.runner.fail(id, null, 'ended by the test');
      } else {
        cancelledWins += 1;
        expect(codeOf(cancel)).toBeUndefined();
        expect(after.status).toBe('CANCELLED');
        expect(after.startedAt).toBeNull();
      }
    }
    expect(cancelledWins + startWins).toBe(25);
  });

  it('lets exactly one of the two conditional UPDATEs match, on two connections at once (50 times)', async () => {
    const pool = a.app.services.pool;
    const outcomes = { running: 0, cancelled: 0 };
    for (let i = 0; i < 50; i += 1) {
      const row = await repo.insertPending(pool, { organizationId: org.organizationId, trigger: 'MANUAL', requestedBy: null, createdAt: new Date(), scheduledFor: null });
      const [running, cancelled] = await Promise.all([
        repo.markRunning(b.app.services.pool, row!.id, { id: `job-${i}`, retry: 0 }, new Date()),
        repo.cancelPending(pool, org.organizationId, row!.id, new Date()),
      ]);
      expect(Boolean(running) !== Boolean(cancelled)).toBe(true);
      if (running) outcomes.running += 1;
      else outcomes.cancelled += 1;
      expect((await backupRow(pool, row!.id)).status).toBe(running ? 'RUNNING' : 'CANCELLED');
      if (running) await repo.markFailed(pool, row!.id, null, 'ended by the test', new Date());
    }
    expect(outcomes.running + outcomes.cancelled).toBe(50);
  });

  it('keeps one RUNNING backup per organization in the database itself (partial unique index)', async () => {
    const pool = a.app.services.pool;
    const first = await repo.insertPending(pool, { organizationId: org.organizationId, trigger: 'MANUAL', requestedBy: null, createdAt: new Date(), scheduledFor: null });
    const second = await repo.insertPending(pool, { organizationId: org.organizationId, trigger: 'SCHEDULED', requestedBy: null, createdAt: new Date(), scheduledFor: new Date() });
    await pool.query(`update backups set status = 'RUNNING' where id = $1`, [first!.id]);
    await expect(pool.query(`update backups set status = 'RUNNING' where id = $1`, [second!.id])).rejects.toMatchObject({ code: '23505' });
    // …and markRunning simply does not match while another runs.
    expect(await repo.markRunning(pool, second!.id, { id: 'job-x', retry: 0 }, new Date())).toBeUndefined();
    await repo.markFailed(pool, first!.id, null, 'ended by the test', new Date());
    await repo.cancelPending(pool, org.organizationId, second!.id, new Date());
  });
});
