import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMAIL_QUEUE } from '../../src/modules/notifications/email.service.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { backupRow, waitForStatus } from '../support/backup-helpers.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { applyPolicy, insertContacts, stopCronSweep } from '../support/retention-helpers.ts';
import { startSmtpReceiver, type SmtpReceiver } from '../support/smtp-receiver.ts';
import { codeOf, startTestApp, type TestApp } from '../support/test-app.ts';

const PREFS = 'mutation($email: Boolean!) { updateNotificationPreferences(email: $email) { email } }';
const emailJobs = async (t: TestApp) =>
  (await t.app.services.pool.query<{ n: number }>('select count(*)::int as n from pgboss.job where name = $1', [EMAIL_QUEUE])).rows[0]!.n;
const textOf = (mail: { text?: string }) => mail.text ?? '';

describe('email to admins, end to end through a real SMTP server', () => {
  const clock = new ManualClock('2025-06-01T08:00:00.000Z');
  let smtp: SmtpReceiver;
  let t: TestApp;
  let org: TestOrg;
  let quiet: { userId: string; email: string; token: string };

  beforeAll(async () => {
    smtp = await startSmtpReceiver({ refuse: 1 });
    t = await startTestApp({ clock, env: { SMTP_URL: smtp.url, MAIL_FROM: 'Backups <backups@example.com>', EMAIL_LINK_TTL_SECONDS: '7200' } });
    await stopCronSweep(t.app);
    org = await createOrg(t.app);
    const created = await t.app.services.auth.createUser({ organizationId: org.organizationId, email: `quiet.${Date.now()}@example.com`, role: 'ADMIN' });
    quiet = { userId: created.userId, email: created.email, token: created.token };
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it('keeps a per-user opt-out, readable by the user only', async () => {
    expect((await t.gql(quiet.token, '{ viewer { notificationPreferences { email } } }')).data).toEqual({ viewer: { notificationPreferences: { email: true } } });
    expect((await t.gql(quiet.token, PREFS, { email: false })).data).toEqual({ updateNotificationPreferences: { email: false } });
    expect((await t.gql(quiet.token, '{ viewer { notificationPreferences { email } } }')).data).toEqual({ viewer: { notificationPreferences: { email: false } } });
    // A STANDARD user has preferences of their own too (they get no backup email: it is for ADMINs).
    expect((await t.gql(org.standard.token, PREFS, { email: true })).data).toEqual({ updateNotificationPreferences: { email: true } });
  });

  it('emails "Backup completed" with a link that downloads the archive, retried after the relay refused it once', async () => {
    const res = await t.gql<{ startManualBackup: { id: string } }>(org.admin.token, 'mutation { startManualBackup { id } }');
    const id = res.data!.startManualBackup.id;
    await waitForStatus(t.app.services.pool, id, ['COMPLETED'], 60_000);
    const [mail] = await smtp.waitFor(1, 60_000);
    expect(smtp.refused).toBe(1);
    expect(mail!.subject).toContain('Backup completed');
    expect(mail!.from?.text).toBe('"Backups" <backups@example.com>');
    expect(mail!.to).toMatchObject({ text: org.admin.email });
    const url = /(http:\/\/\S+\/downloads\/backups\/\S+)/.exec(textOf(mail!))?.[1];
    expect(url).toBeDefined();
    expect(Number(new URL(url!).searchParams.get('expires'))).toBe(clock.now().getTime() / 1000 + 7200);

    const download = await fetch(url!);
    expect(download.status).toBe(200);
    const body = Buffer.from(await download.arrayBuffer());
    expect(createHash('sha256').update(body).digest('hex')).toBe((await backupRow(t.app.services.pool, id)).sha256);
    // One job: the opted-out admin and the STANDARD user get none. Sent by a job, so the request did not wait for SMTP.
    expect(await emailJobs(t)).toBe(1);
    expect(smtp.messages.map((m) => (m.to as { text: string }).text)).toEqual([org.admin.email]);
  });

  it('emails the retention notice to admins who want email', async () => {
    await insertContacts(t.app.services.pool, org.organizationId, [{ createdAt: '2025-05-05T09:00:00Z' }, { createdAt: '2025-05-05T10:00:00Z' }]);
    await applyPolicy(t.gql, t.app.services.pool, org.admin.token, {
      module: 'CONTACTS', retentionPeriod: { value: 30, unit: 'DAYS' }, action: 'MASK', actionPeriod: { value: 60, unit: 'DAYS' },
    });
    await t.app.services.retention.sweep();
    const mails = await smtp.waitFor(2, 30_000);
    const notice = mails[1]!;
    expect(notice.subject).toContain('Retention: 2 records due within 7 days');
    expect(textOf(notice)).toContain('Due by the end of 2025-06-08 (UTC): contacts: 2 to be masked.');
    expect((notice.to as { text: string }).text).toBe(org.admin.email);
    expect(smtp.messages).toHaveLength(2);
  });

  it('refuses bad preferences input with BAD_USER_INPUT and writes nothing, and hides other users\' preferences', async () => {
    const before = (await t.app.services.pool.query('select user_id, email from notification_preferences order by user_id')).rows;
    for (const email of ['yes', null, 1]) expect(codeOf(await t.gql(org.admin.token, PREFS, { email }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await t.gql(null, PREFS, { email: false }))).toBe('UNAUTHENTICATED');
    expect((await t.app.services.pool.query('select user_id, email from notification_preferences order by user_id')).rows).toEqual(before);
    const other = await t.gql(quiet.token, '{ backups(first: 1) { nodes { requestedBy { email notificationPreferences { email } } } } }');
    expect(codeOf(other)).toBe('FORBIDDEN');
  });
});

describe('a failed backup is emailed with its reason', () => {
  let smtp: SmtpReceiver;
  let t: TestApp;
  let org: TestOrg;
  let dir: string;
  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-email-broken-'));
    const notADirectory = path.join(dir, 'file');
    await fs.writeFile(notADirectory, 'x');
    t = await startTestApp({ env: { SMTP_URL: smtp.url, STORAGE_DIR: notADirectory } });
    org = await createOrg(t.app);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('says "Backup failed" and why', async () => {
    const res = await t.gql<{ startManualBackup: { id: string } }>(org.admin.token, 'mutation { startManualBackup { id } }');
    await waitForStatus(t.app.services.pool, res.data!.startManualBackup.id, ['FAILED'], 60_000);
    const [mail] = await smtp.waitFor(1, 30_000);
    expect(mail!.subject).toContain('Backup failed');
    expect(textOf(mail!)).toContain('Reason: The archive could not be stored (ENOTDIR)');
    expect(textOf(mail!)).not.toContain(dir); // no server path
  });
});

describe('without SMTP_URL', () => {
  let t: TestApp;
  let org: TestOrg;
  beforeAll(async () => {
    t = await startTestApp();
    org = await createOrg(t.app);
  });
  afterAll(async () => t.close());

  it('sends nothing and fails nothing', async () => {
    const res = await t.gql<{ startManualBackup: { id: string } }>(org.admin.token, 'mutation { startManualBackup { id } }');
    await waitForStatus(t.app.services.pool, res.data!.startManualBackup.id, ['COMPLETED'], 60_000);
    expect(t.app.services.email).toBeUndefined();
    expect(await emailJobs(t)).toBe(0);
    expect((await t.gql(org.admin.token, PREFS, { email: false })).data).toEqual({ updateNotificationPreferences: { email: false } });
  });
});
