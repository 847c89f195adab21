import { describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import { codeOf, subscribe, type TestApp } from '../support/test-app.ts';
import { backupRow, backupsOf, runBackupJobNow } from '../support/backup-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';

const START = 'mutation { startManualBackup { id status } }';
const CANCEL = 'mutation($id: ID!) { cancelBackup(id: $id) { id status } }';
const LINK = 'mutation($id: ID!) { createBackupDownloadLink(id: $id) { url expiresAt } }';

/** An api-only app: no worker takes the jobs, so each test decides when a backup starts (runner.claim). */
describe('backup state rules refuse what they must, and change nothing', () => {
  let t: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  useOrgApp({ role: 'api', orgs: 2 }, (ready) => ({ t, org, other } = ready));

  const start = async (token = org.admin.token) => {
    const res = await t.gql<{ startManualBackup: { id: string } }>(token, START);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.startManualBackup.id;
  };
  const claim = async (id: string) => {
    const row = await backupRow(t.app.services.pool, id);
    return t.app.services.backups.runner.claim({ id: row.jobId!, data: { backupId: id, organizationId: row.organizationId }, retryCount: 0, retryLimit: 3 });
  };
  const finish = (id: string) => t.app.services.backups.runner.fail(id, null, 'ended by the test');

  it('refuses a second manual backup while one waits: BACKUP_IN_PROGRESS, nothing added', async () => {
    const first = await start();
    const before = await backupsOf(t.app.services.pool, org.organizationId);
    const res = await t.gql(org.admin.token, START);
    expect(codeOf(res)).toBe('BACKUP_IN_PROGRESS');
    expect(res.errors?.[0]?.message).toBe('Backup is already in process');
    expect(await backupsOf(t.app.services.pool, org.organizationId)).toEqual(before);
    await claim(first);
    await finish(first);
  });

  it('refuses a manual backup while one runs', async () => {
    const id = await start();
    expect((await claim(id)).kind).toBe('run');
    const before = await backupsOf(t.app.services.pool, org.organizationId);
    expect(codeOf(await t.gql(org.admin.token, START))).toBe('BACKUP_IN_PROGRESS');
    expect(await backupsOf(t.app.services.pool, org.organizationId)).toEqual(before);
    await finish(id);
  });

  it('refuses to cancel a RUNNING backup with BACKUP_ALREADY_STARTED; it keeps running', async () => {
    const id = await start();
    await claim(id);
    const res = await t.gql(org.admin.token, CANCEL, { id });
    expect(codeOf(res)).toBe('BACKUP_ALREADY_STARTED');
    expect((await backupRow(t.app.services.pool, id)).status).toBe('RUNNING');
    await finish(id);
  });

  it('refuses to cancel finished backups with BACKUP_NOT_CANCELLABLE', async () => {
    const failed = await start();
    await claim(failed);
    await finish(failed);
    const cancelled = await start();
    expect(codeOf(await t.gql(org.admin.token, CANCEL, { id: cancelled }))).toBeUndefined();
    const completed = await start();
    await runBackupJobNow(t.app, completed);
    for (const [id, status] of [[failed, 'FAILED'], [cancelled, 'CANCELLED'], [completed, 'COMPLETED']] as const) {
      const res = await t.gql(org.admin.token, CANCEL, { id });
      expect(codeOf(res), status).toBe('BACKUP_NOT_CANCELLABLE');
      expect((await backupRow(t.app.services.pool, id)).status).toBe(status);
    }
  });

  it("answers NOT_FOUND for another organization's backup and for ids that name nothing", async () => {
    const theirs = await start(other.admin.token);
    for (const id of [theirs, '00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      expect(codeOf(await t.gql(org.admin.token, CANCEL, { id })), id).toBe('NOT_FOUND');
      expect(codeOf(await t.gql(org.admin.token, LINK, { id })), id).toBe('NOT_FOUND');
      const read = await t.gql<{ backup: unknown }>(org.admin.token, 'query($id: ID!) { backup(id: $id) { id } }', { id });
      expect(codeOf(read), id).toBe('NOT_FOUND');
      expect(read.data?.backup ?? null).toBeNull();
    }
    expect((await backupRow(t.app.services.pool, theirs)).status).toBe('PENDING');
    await t.gql(other.admin.token, CANCEL, { id: theirs });
  });

  it('refuses download links for backups without a kept archive: BACKUP_NOT_DOWNLOADABLE', async () => {
    const pending = await start();
    expect(codeOf(await t.gql(org.admin.token, LINK, { id: pending }))).toBe('BACKUP_NOT_DOWNLOADABLE');
    await claim(pending);
    expect(codeOf(await t.gql(org.admin.token, LINK, { id: pending }))).toBe('BACKUP_NOT_DOWNLOADABLE');
    await finish(pending);
    expect(codeOf(await t.gql(org.admin.token, LINK, { id: pending }))).toBe('BACKUP_NOT_DOWNLOADABLE');
  });

  it('refuses every backup operation to a STANDARD user with FORBIDDEN, creating nothing', async () => {
    const before = await backupsOf(t.app.services.pool, org.organizationId);
    const someId = before[0]!.id;
    const operations: [string, Record<string, unknown>?][] = [
      [START],
      [CANCEL, { id: someId }],
      [LINK, { id: someId }],
      ['{ backups { totalCount } }'],
      ['query($id: ID!) { backup(id: $id) { id } }', { id: someId }],
      ['{ backupSettings { autoBackupEnabled } }'],
      ['mutation { enableAutoBackup(input: { frequency: WEEKLY, dayOfWeek: MONDAY, timeOfDay: "02:00" }) { nextRunAt } }'],
      ['mutation { disableAutoBackup { autoBackupEnabled } }'],
    ];
    for (const [query, variables] of operations) {
      expect(codeOf(await t.gql(org.standard.token, query, variables)), query).toBe('FORBIDDEN');
    }
    expect(await backupsOf(t.app.services.pool, org.organizationId)).toEqual(before);
    const { rows } = await t.app.services.pool.query('select 1 from backup_settings where organization_id = $1', [org.organizationId]);
    expect(rows).toHaveLength(0);
  });

  it("refuses backupEvents for another organization's backup (NOT_FOUND) and to a STANDARD user (FORBIDDEN)", async () => {
    const theirs = await start(other.admin.token);
    const query = 'subscription($id: ID) { backupEvents(backupId: $id) { kind } }';
    const cases: [string, Record<string, unknown>, string][] = [
      [org.admin.token, { id: theirs }, 'NOT_FOUND'],
      [org.admin.token, { id: 'not-an-id' }, 'NOT_FOUND'],
      [org.standard.token, {}, 'FORBIDDEN'],
    ];
    for (const [token, variables, code] of cases) {
      const sub = subscribe(t.ws(token), query, variables);
      // graphql-ws delivers a refused subscription as one result with errors (then completes).
      await sub.next(1, 5000).catch(() => undefined);
      const errors = sub.errorsSoFar()[0] as { extensions?: { code?: string } }[];
      expect(errors?.[0]?.extensions?.code).toBe(code);
      expect(sub.events[0] ?? null).toBeNull();
    }
    await t.gql(other.admin.token, CANCEL, { id: theirs });
  });

  it('rejects bad paging arguments with BAD_USER_INPUT naming the argument', async () => {
    const zero = await t.gql(org.admin.token, '{ backups(first: 0) { totalCount } }');
    expect(codeOf(zero)).toBe('BAD_USER_INPUT');
    expect(zero.errors?.[0]?.extensions?.field).toBe('first');
    const cursor = await t.gql(org.admin.token, '{ backups(after: "garbage") { totalCount } }');
    expect(codeOf(cursor)).toBe('BAD_USER_INPUT');
    expect(cursor.errors?.[0]?.extensions?.field).toBe('after');
  });
});
