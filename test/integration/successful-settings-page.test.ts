import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/db/migrate.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { useOrgApp, type OrgApp } from '../support/org-app.ts';
import { codeOf } from '../support/test-app.ts';

type BackupBrief = { id: string; status: string; trigger: string } | null;
type Settings = { backupSettings: { autoBackupEnabled: boolean; activeBackup: BackupBrief; nextBackup: BackupBrief; canStartManualBackup: boolean } };
type Activity = { activityStream: { totalCount: number; nodes: { kind: string; subjectType: string | null; subjectId: string | null; data: Record<string, unknown> | null }[] } };

const SETTINGS = `{ backupSettings { autoBackupEnabled canStartManualBackup
  activeBackup { id status trigger } nextBackup { id status trigger } } }`;
const STREAM = `query($subjectType: String, $subjectId: ID, $kinds: [String!], $first: Int) {
  activityStream(subjectType: $subjectType, subjectId: $subjectId, kinds: $kinds, first: $first) {
    totalCount nodes { kind subjectType subjectId data } } }`;

/** An api-only app: no worker takes the jobs, so PENDING backups stay PENDING while the page is read. */
describe('the settings page in one request: active and next backup, structured activity', () => {
  const clock = new ManualClock('2026-04-06T00:00:00.000Z');
  let s: OrgApp;
  useOrgApp({ clock, role: 'api', orgs: 2 }, (ready) => (s = ready));
  const settings = async (token = s.org.admin.token) => {
    const res = await s.t.gql<Settings>(token, SETTINGS);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.backupSettings;
  };
  const stream = async (vars: Record<string, unknown>, token = s.org.admin.token) => {
    const res = await s.t.gql<Activity>(token, STREAM, vars);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.activityStream;
  };
  let manualId: string;

  beforeAll(async () => {
    const enable = await s.t.gql(s.org.admin.token, 'mutation { enableAutoBackup(input: { frequency: WEEKLY, dayOfWeek: MONDAY, timeOfDay: "02:00" }) { nextRunAt } }');
    expect(enable.errors).toBeUndefined();
  });

  it('shows the planned scheduled backup as next, and no active one', async () => {
    const page = await settings();
    expect(page).toMatchObject({ autoBackupEnabled: true, activeBackup: null, canStartManualBackup: true, nextBackup: { status: 'PENDING', trigger: 'SCHEDULED' } });
  });

  it('shows a waiting manual backup as active and says a manual one may not start, as startManualBackup does', async () => {
    const started = await s.t.gql<{ startManualBackup: { id: string } }>(s.org.admin.token, 'mutation { startManualBackup { id } }');
    manualId = started.data!.startManualBackup.id;
    const page = await settings();
    expect(page).toMatchObject({ canStartManualBackup: false, activeBackup: { id: manualId, status: 'PENDING', trigger: 'MANUAL' }, nextBackup: { trigger: 'SCHEDULED' } });
    expect(codeOf(await s.t.gql(s.org.admin.token, 'mutation { startManualBackup { id } }'))).toBe('BACKUP_IN_PROGRESS');
    // A RUNNING backup is the active one too (set by hand: no worker here).
    await s.t.app.services.pool.query(`update backups set status = 'RUNNING', started_at = now(), attempts = 1 where id = $1`, [manualId]);
    expect(await settings()).toMatchObject({ canStartManualBackup: false, activeBackup: { id: manualId, status: 'RUNNING' } });
    await s.t.app.services.pool.query(`update backups set status = 'PENDING', started_at = null, attempts = 0 where id = $1`, [manualId]);
    await s.t.gql(s.org.admin.token, 'mutation($id: ID!) { cancelBackup(id: $id) { status } }', { id: manualId });
    expect(await settings()).toMatchObject({ canStartManualBackup: true, activeBackup: null });
    // Another organization sees its own (empty) page.
    expect(await settings(s.other.admin.token)).toMatchObject({ activeBackup: null, nextBackup: null, canStartManualBackup: true });
  });

  it('filters the activity stream by subject and carries structured data with the fixed subject types', async () => {
    const ofBackup = await stream({ subjectType: 'BACKUP', subjectId: manualId });
    expect(ofBackup.nodes.map((n) => n.kind)).toEqual(['backup.cancelled', 'backup.pending']);
    expect(ofBackup.totalCount).toBe(2);
    expect(ofBackup.nodes.every((n) => n.subjectType === 'BACKUP' && n.subjectId === manualId)).toBe(true);
    expect(ofBackup.nodes[0]!.data).toMatchObject({ trigger: 'MANUAL', status: 'CANCELLED' });

    const ofSettings = await stream({ subjectType: 'BACKUP_SETTINGS' });
    expect(ofSettings.nodes).toEqual([
      { kind: 'backup.settings_changed', subjectType: 'BACKUP_SETTINGS', subjectId: s.org.organizationId,
        data: { autoBackupEnabled: true, frequency: 'WEEKLY', dayOfWeek: 'MONDAY', timeOfDay: '02:00', timezone: 'Asia/Singapore' } },
    ]);
    // Only the subject id: the same history.
    expect((await stream({ subjectId: manualId })).totalCount).toBe(2);
    // Never personal data: no email of the organization's users in any event.
    const all = await stream({ first: 100 });
    expect(JSON.stringify(all.nodes)).not.toContain(s.org.admin.email);
    // Organization isolation: another organization's subject id finds nothing.
    expect(await stream({ subjectId: manualId }, s.other.admin.token)).toMatchObject({ totalCount: 0, nodes: [] });
  });

  it("runs README's settings-page query in one request, within the query limits", async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const query = /```graphql\n(query SettingsPage \{[\s\S]*?\n\})\n```/.exec(readme)?.[1];
    expect(query).toBeDefined();
    const res = await s.t.gql<{ backupSettings: { nextBackup: { id: string } | null }; backups: { totalCount: number }; unreadNotificationCount: number; activityStream: { nodes: unknown[] } }>(s.org.admin.token, query!);
    expect(res.errors).toBeUndefined();
    expect(res.data!.backupSettings.nextBackup).not.toBeNull();
    expect(res.data!.backups.totalCount).toBe(2);
    expect(res.data!.activityStream.nodes).toHaveLength(1);
  });

  it('refuses unknown subject types, oversized filters and non-admins', async () => {
    for (const [vars, field] of [
      [{ subjectType: 'backup' }, 'subjectType'],
      [{ subjectType: 'USER' }, 'subjectType'],
      [{ subjectId: 'x'.repeat(201) }, 'subjectId'],
      [{ kinds: Array.from({ length: 51 }, (_, i) => `k${i}`) }, 'kinds'],
    ] as const) {
      const res = await s.t.gql(s.org.admin.token, STREAM, vars);
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
      expect(res.errors![0]!.message).toContain(field);
    }
    expect(codeOf(await s.t.gql(s.org.standard.token, STREAM, { subjectType: 'BACKUP' }))).toBe('FORBIDDEN');
    expect(codeOf(await s.t.gql(s.org.standard.token, SETTINGS))).toBe('FORBIDDEN');
  });
});

describe('the 0.2 migration of subject types', () => {
  let s: OrgApp;
  useOrgApp({ role: 'api' }, (ready) => (s = ready));

  it('rewrites 0.1 spellings to the fixed values and keeps the stream append-only', async () => {
    const { pool } = s.t.app.services;
    const org = s.org.organizationId;
    const old = [
      ['backup.completed', 'backup', 'b1', null],
      ['backup.settings_changed', 'backup_settings', org, null],
      ['retention.policy_changed', 'RetentionPolicy', 'LEADS', null],
      ['import.completed', 'import', 'i1', null],
      ['retention.record_date_changed', 'CONTACTS', 'c1', null],
      ['retention.settings_changed', null, null, null],
      ['retention.sweep_batch', null, null, '{"module":"LEADS","pass":"MASK","count":3}'],
    ];
    for (const [kind, type, id, data] of old) {
      await pool.query(`insert into activity_events (organization_id, kind, summary, subject_type, subject_id, data) values ($1, $2, 'x', $3, $4, $5)`, [org, kind, type, id, data]);
    }
    const file = (await readFile(`${MIGRATIONS_DIR}/0004_notifications-webhooks.sql`, 'utf8')).split('-- hand-written')[1]!;
    const statements = file.slice(file.indexOf('\n')).split('--> statement-breakpoint').map((q) => q.trim()).filter(Boolean);
    const client = await pool.connect();
    try {
      await client.query('begin');
      for (const q of statements) await client.query(q);
      await client.query('commit');
    } finally {
      client.release();
    }
    const { rows } = await pool.query<{ kind: string; subject_type: string; subject_id: string }>(
      `select kind, subject_type, subject_id from activity_events where organization_id = $1 and summary = 'x' order by id`, [org]);
    expect(rows.map((r) => [r.subject_type, r.subject_id])).toEqual([
      ['BACKUP', 'b1'], ['BACKUP_SETTINGS', org], ['RETENTION_POLICY', 'LEADS'], ['IMPORT', 'i1'], ['CONTACT', 'c1'],
      ['RETENTION_SETTINGS', org], ['RETENTION_POLICY', 'LEADS'],
    ]);
    await expect(pool.query(`update activity_events set summary = 'y' where organization_id = $1`, [org])).rejects.toThrow(/append-only/);
  });
});
