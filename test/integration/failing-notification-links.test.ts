import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_QUEUE, type BackupJobData } from '../../src/modules/backup/backup-state-machine.ts';
import { backupRow } from '../support/backup-helpers.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { codeOf, startTestApp, type TestApp } from '../support/test-app.ts';

const PAGE = `query($first: Int, $after: String) { notificationsConnection(first: $first, after: $after) {
  pageInfo { endCursor } nodes { kind title body backup { status error } downloadUrl } } }`;

/** A store that cannot be written: the backup fails, and its notification says why. */
describe('notifications of a failed backup, and bad paging input', () => {
  let t: TestApp;
  let org: TestOrg;
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-notify-broken-'));
    const notADirectory = path.join(dir, 'file');
    await fs.writeFile(notADirectory, 'x');
    t = await startTestApp({ role: 'api', env: { STORAGE_DIR: notADirectory } });
    org = await createOrg(t.app);
  });
  afterAll(async () => {
    await t.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('says why the backup failed, and offers no link', async () => {
    const res = await t.gql<{ startManualBackup: { id: string } }>(org.admin.token, 'mutation { startManualBackup { id } }');
    const id = res.data!.startManualBackup.id;
    const job = (await t.app.services.boss.getJobById<BackupJobData>(BACKUP_QUEUE, (await backupRow(t.app.services.pool, id)).jobId!))!;
    await t.app.services.backups.runner.run({ id: job.id, data: job.data, retryCount: 3, retryLimit: 3, signal: new AbortController().signal });

    const page = await t.gql<{ notificationsConnection: { nodes: { kind: string; title: string; body: string; backup: { status: string; error: string }; downloadUrl: string | null }[] } }>(org.admin.token, PAGE);
    const [note] = page.data!.notificationsConnection.nodes;
    expect(note).toMatchObject({ kind: 'backup.failed', title: 'Backup failed', downloadUrl: null, backup: { status: 'FAILED' } });
    expect(note!.body).toContain('The archive could not be stored (ENOTDIR)');
    expect(note!.body).toContain(note!.backup.error);
  });

  it('refuses tampered, foreign and malformed cursors and a bad page size, with BAD_USER_INPUT', async () => {
    const first = await t.gql<{ notificationsConnection: { pageInfo: { endCursor: string } } }>(org.admin.token, PAGE, { first: 1 });
    const cursor = first.data!.notificationsConnection.pageInfo.endCursor;
    expect(cursor).toBeTruthy();
    const tampered = `${cursor.slice(0, -2)}${cursor.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const after of [tampered, 'not-a-cursor', Buffer.from('["x","y"]').toString('base64url')]) {
      expect(codeOf(await t.gql(org.admin.token, PAGE, { after }))).toBe('BAD_USER_INPUT');
    }
    const activity = await t.gql<{ activityStream: { pageInfo: { endCursor: string } } }>(org.admin.token, '{ activityStream(first: 1) { pageInfo { endCursor } } }');
    expect(codeOf(await t.gql(org.admin.token, PAGE, { after: activity.data!.activityStream.pageInfo.endCursor }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await t.gql(org.admin.token, PAGE, { first: 0 }))).toBe('BAD_USER_INPUT');
    // Another user's cursor pages the viewer's own list only: a cursor is a position, never a grant.
    const standard = await t.gql<{ notificationsConnection: { nodes: unknown[] } }>(org.standard.token, PAGE, { after: cursor });
    expect(standard.data!.notificationsConnection.nodes).toEqual([]);
  });

  it('needs a token', async () => {
    expect(codeOf(await t.gql(null, '{ unreadNotificationCount }'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await t.gql(null, PAGE))).toBe('UNAUTHENTICATED');
  });
});
