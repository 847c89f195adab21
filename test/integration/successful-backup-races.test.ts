import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as repo from '../../src/modules/backup/backup.repository.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { codeOf, startTestApp } from '../support/test-app.ts';
import { backupRow, backupsOf, tempStorageDir, type RunningApp } from '../support/backup-helpers.ts';
import { fireInOrder, holdLock } from '../support/lock-holder.ts';

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

  // Both are fired while a separate session holds the organization's backup lock, queued in a chosen order.
  it.each(['cancel', 'start'] as const)('lets exactly one of cancel and start win when both are fired at once: %s queued first wins', async (winner) => {
    const started = await a.gql<{ startManualBackup: { id: string } }>(org.admin.token, START);
    const id = started.data!.startManualBackup.id;
    const row = await backupRow(a.app.services.pool, id);
    const job = { id: row.jobId!, data: { backupId: id, organizationId: org.organizationId }, retryCount: 0, retryLimit: 3 };
    const holder = await holdLock(a.db.url, (client) => repo.lockOrganizationBackups(client, org.organizationId));
    const fireCancel = () => b.gql<{ cancelBackup: { status: string } }>(org.admin.token, CANCEL, { id });
    const fireClaim = () => a.app.services.backups.runner.claim(job);
    const [cancel, claim] =
      winner === 'cancel'
        ? await fireInOrder(holder, fireCancel, fireClaim)
        : await fireInOrder(holder, fireClaim, fireCancel).then(([claimed, cancelled]) => [cancelled, claimed] as const);
    const after = await backupRow(a.app.services.pool, id);
    if (winner === 'start') {
      expect(claim.kind).toBe('run');
      expect(codeOf(cancel)).toBe('BACKUP_ALREADY_STARTED');
      expect(after.status).toBe('RUNNING');
      await a.app.services.backups.runner.fail(id, null, 'ended by the test');
    } else {
      expect(claim).toEqual({ kind: 'skip', reason: 'backup is CANCELLED' });
      expect(codeOf(cancel)).toBeUndefined();
      expect(cancel.data).toEqual({ cancelBackup: { status: 'CANCELLED' } });
      expect(after.status).toBe('CANCELLED');
      expect(after.startedAt).toBeNull();
    }
  });

  // No lock of the service here: the row lock a separate session holds queues the two UPDATEs; the second to
  // run re-reads the row the first changed and no longer matches.
  it.each(['running', 'cancelled'] as const)('lets exactly one of the two conditional UPDATEs match, on two connections at once: %s first', async (winner) => {
    const pool = a.app.services.pool;
    const row = await repo.insertPending(pool, { organizationId: org.organizationId, trigger: 'MANUAL', requestedBy: null, createdAt: new Date(), scheduledFor: null });
    const holder = await holdLock(a.db.url, (client) => client.query('select 1 from backups where id = $1 for update', [row!.id]));
    const fireRunning = () => repo.markRunning(b.app.services.pool, row!.id, { id: `job-${winner}`, retry: 0 }, new Date());
    const fireCancel = () => repo.cancelPending(pool, org.organizationId, row!.id, new Date());
    const [running, cancelled] =
      winner === 'running'
        ? await fireInOrder(holder, fireRunning, fireCancel)
        : await fireInOrder(holder, fireCancel, fireRunning).then(([c, r]) => [r, c] as const);
    if (winner === 'running') {
      expect(running).toMatchObject({ id: row!.id, status: 'RUNNING' });
      expect(cancelled).toBeUndefined();
    } else {
      expect(cancelled).toMatchObject({ id: row!.id, status: 'CANCELLED' });
      expect(running).toBeUndefined();
    }
    expect((await backupRow(pool, row!.id)).status).toBe(winner === 'running' ? 'RUNNING' : 'CANCELLED');
    if (running) await repo.markFailed(pool, row!.id, null, 'ended by the test', new Date());
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
