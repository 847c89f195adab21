import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { waitForStatus } from '../support/backup-helpers.ts';
import { useOrgApp, type OrgApp } from '../support/org-app.ts';

type Note = { id: string; kind: string; title: string; createdAt: string; body: string | null; backupId: string | null; backup: { id: string; status: string } | null; downloadUrl: string | null };
type Page = { notificationsConnection: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: Note[] } };

const PAGE = `query($first: Int, $after: String, $unreadOnly: Boolean) {
  notificationsConnection(first: $first, after: $after, unreadOnly: $unreadOnly) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id kind title createdAt body backupId backup { id status } downloadUrl }
  }
}`;

describe('notifications carry their backup and a fresh download link', () => {
  const clock = new ManualClock('2026-03-01T00:00:00.000Z');
  let s: OrgApp;
  let backupId: string;
  useOrgApp({ clock }, (ready) => (s = ready));

  beforeAll(async () => {
    const res = await s.t.gql<{ startManualBackup: { id: string } }>(s.org.admin.token, 'mutation { startManualBackup { id } }');
    backupId = res.data!.startManualBackup.id;
    await waitForStatus(s.t.app.services.pool, backupId, ['COMPLETED'], 60_000);
  });

  const page = async (token: string, vars: Record<string, unknown> = {}) => {
    const res = await s.t.gql<Page>(token, PAGE, vars);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.notificationsConnection;
  };

  it('gives an ADMIN the backup and a signed link that downloads the archive, fresh on each read', async () => {
    const first = (await page(s.org.admin.token)).nodes.find((n) => n.kind === 'backup.completed')!;
    expect(first).toMatchObject({ title: 'Backup completed', backupId, backup: { id: backupId, status: 'COMPLETED' } });
    expect(first.downloadUrl).toMatch(new RegExp(`/downloads/backups/${backupId}\\?expires=\\d+&signature=`));
    const download = await fetch(first.downloadUrl!);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/zip');
    await download.arrayBuffer();

    clock.advance(60_000);
    const again = (await page(s.org.admin.token)).nodes.find((n) => n.kind === 'backup.completed')!;
    expect(again.downloadUrl).not.toBe(first.downloadUrl);
    const expires = (url: string) => Number(new URL(url).searchParams.get('expires'));
    expect(expires(again.downloadUrl!) - expires(first.downloadUrl!)).toBe(60);
    // Reading a link is not an audit event; the download is.
    const { rows } = await s.t.app.services.pool.query<{ kind: string }>('select kind from activity_events where subject_id = $1', [backupId]);
    expect(rows.filter((r) => r.kind === 'backup.download_link_created')).toHaveLength(0);
    expect(rows.filter((r) => r.kind === 'backup.downloaded')).toHaveLength(1);
  });

  it('gives a STANDARD viewer neither the backup nor a link', async () => {
    await s.t.app.services.notifications.notify([s.org.standard.userId], {
      organizationId: s.org.organizationId, kind: 'backup.completed', title: 'Backup completed', backupId,
    });
    const [note] = (await page(s.org.standard.token)).nodes;
    expect(note).toMatchObject({ backupId, backup: null, downloadUrl: null });
  });

  it('stops giving a link once the archive is no longer kept', async () => {
    await s.t.app.services.pool.query(`update backups set status = 'EXPIRED', storage_key = null where id = $1`, [backupId]);
    const note = (await page(s.org.admin.token)).nodes.find((n) => n.kind === 'backup.completed')!;
    expect(note).toMatchObject({ backup: { id: backupId, status: 'EXPIRED' }, downloadUrl: null });
  });

  it('counts unread notifications and pages them newest first with signed cursors', async () => {
    const { notifications } = s.t.app.services;
    for (let i = 0; i < 24; i += 1) {
      clock.advance(1000);
      await notifications.notify([s.org.admin.userId], { organizationId: s.org.organizationId, kind: 'test.note', title: `note ${i}` });
    }
    const count = async () => (await s.t.gql<{ unreadNotificationCount: number }>(s.org.admin.token, '{ unreadNotificationCount }')).data!.unreadNotificationCount;
    expect(await count()).toBe(25); // 24 + the backup's

    const seen: Note[] = [];
    let after: string | null = null;
    for (;;) {
      const p: Page['notificationsConnection'] = await page(s.org.admin.token, { first: 10, after });
      expect(p.totalCount).toBe(25);
      seen.push(...p.nodes);
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(25);
    expect(new Set(seen.map((n) => n.id)).size).toBe(25);
    // Newest first; notes written in the same millisecond tie on createdAt and follow their ids (a stable order).
    const times = seen.map((n) => Date.parse(n.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(seen.slice(0, 24).map((n) => n.title).sort()).toEqual(Array.from({ length: 24 }, (_, i) => `note ${i}`).sort());
    expect(seen.at(-1)!.kind).toBe('backup.completed');

    const read = await s.t.gql(s.org.admin.token, 'mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }', { ids: seen.slice(0, 5).map((n) => n.id) });
    expect(read.data).toEqual({ markNotificationsRead: 5 });
    expect(await count()).toBe(20);
    const unread = await page(s.org.admin.token, { unreadOnly: true, first: 100 });
    expect(unread.totalCount).toBe(20);
    expect(unread.nodes.map((n) => n.id)).toEqual(seen.slice(5).map((n) => n.id));
    // Someone else's notifications are not counted.
    expect((await s.t.gql<{ unreadNotificationCount: number }>(s.org.standard.token, '{ unreadNotificationCount }')).data!.unreadNotificationCount).toBe(1);
  });
});
