import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { publishUntilReceived } from '../support/foundation-helpers.ts';
import { codeOf, startTestApp, subscribe, type TestApp } from '../support/test-app.ts';
import { backupRow, eventually, seedRecords, tempStorageDir, verifyZip, waitForStatus } from '../support/backup-helpers.ts';
import { eventNotifyQuery } from '../../src/events/event-topics.ts';

const LINK = 'mutation($id: ID!) { createBackupDownloadLink(id: $id) { url expiresAt } }';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** One app (api + worker) on a ManualClock: link expiry and archive order follow the clock the test moves. */
describe('downloads and retention of backup archives', () => {
  const clock = new ManualClock('2026-02-01T00:00:00.000Z');
  let t: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  let storage: string;
  const ids: string[] = [];

  beforeAll(async () => {
    storage = await tempStorageDir();
    t = await startTestApp({ clock, env: { STORAGE_DIR: storage } });
    org = await createOrg(t.app);
    other = await createOrg(t.app);
    await seedRecords(t.app.services.pool, org.organizationId, { leads: 200, contacts: 300, accounts: 50, deals: 50 });
    ids.push(await backupNow());
  });
  afterAll(async () => {
    await t.close();
    await fs.rm(storage, { recursive: true, force: true });
  });

  async function backupNow(): Promise<string> {
    clock.advance(60_000);
    const res = await t.gql<{ startManualBackup: { id: string } }>(org.admin.token, 'mutation { startManualBackup { id } }');
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    const id = res.data!.startManualBackup.id;
    await waitForStatus(t.app.services.pool, id, ['COMPLETED', 'FAILED'], 60_000);
    return id;
  }
  async function linkFor(id: string, token = org.admin.token) {
    const res = await t.gql<{ createBackupDownloadLink: { url: string; expiresAt: string } }>(token, LINK, { id });
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.createBackupDownloadLink;
  }
  const downloads = async () =>
    (await t.app.services.pool.query<{ n: number }>(`select count(*)::int as n from activity_events where kind = 'backup.downloaded' and subject_id = $1`, [ids[0]])).rows[0]!.n;

  it('streams the archive behind a signed link, with its headers, and records the download', async () => {
    const row = await backupRow(t.app.services.pool, ids[0]!);
    expect(row.status).toBe('COMPLETED');
    const link = await linkFor(row.id);
    expect(link.url.startsWith(`${t.url}/downloads/backups/${row.id}?expires=`)).toBe(true);
    expect(new Date(link.expiresAt).getTime()).toBe(clock.now().getTime() + 900_000);

    const res = await fetch(link.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toContain(`attachment; filename="${row.fileName}"`);
    expect(res.headers.get('content-length')).toBe(String(row.sizeBytes));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    const body = Buffer.from(await res.arrayBuffer());
    expect(sha256(body)).toBe(row.sha256);
    const copy = path.join(await tempStorageDir(), row.fileName!);
    await fs.writeFile(copy, body);
    expect((await verifyZip(copy)).manifest).toMatchObject({ backupId: row.id });
    expect(await downloads()).toBe(1);
  });

  it('records a link once, however often it is fetched, resumed or fetched at the same time', async () => {
    clock.advance(1_000); // a link of its own (a link is its backup id and expiry, to the second)
    const link = await linkFor(ids[0]!);
    const before = await downloads();
    const fetchAll = async (headers: Record<string, string> = {}) => {
      const res = await fetch(link.url, { headers });
      await res.arrayBuffer();
      return res.status;
    };
    expect(await fetchAll()).toBe(200);
    expect(await fetchAll()).toBe(200);
    expect(await fetchAll({ Range: 'bytes=0-99' })).toBe(206);
    expect(await Promise.all(Array.from({ length: 5 }, () => fetchAll()))).toEqual([200, 200, 200, 200, 200]);
    expect(await downloads()).toBe(before + 1);
    // What is kept of a used link is a hash: never the signature, which would be a usable link until it expires.
    const signature = new URL(link.url).searchParams.get('signature')!;
    const kept = await t.app.services.pool.query('select 1 from backup_download_links where signature_hash = $1', [signature]);
    expect(kept.rows).toHaveLength(0);

    clock.advance(1_000);
    const another = await linkFor(ids[0]!);
    expect((await fetch(another.url)).status).toBe(200);
    expect(await downloads()).toBe(before + 2);

    // Used links are pruned once expired (they can never be used again): only the newest is left.
    clock.advance(901_000);
    const fresh = await linkFor(ids[0]!);
    expect((await fetch(fresh.url)).status).toBe(200);
    expect(await downloads()).toBe(before + 3);
    const { rows } = await t.app.services.pool.query<{ expiresAt: Date }>('select expires_at as "expiresAt" from backup_download_links');
    expect(rows.map((r) => r.expiresAt.toISOString())).toEqual([new Date(fresh.expiresAt).toISOString()]);
  });

  it('answers HEAD with the headers only, and Range with 206 or 416', async () => {
    const row = await backupRow(t.app.services.pool, ids[0]!);
    const link = await linkFor(row.id);
    const before = await downloads();
    const head = await fetch(link.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(row.sizeBytes));
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    const whole = await fs.readFile(path.join(storage, row.storageKey!));
    const part = await fetch(link.url, { headers: { Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${row.sizeBytes}`);
    expect(part.headers.get('content-length')).toBe('100');
    expect(Buffer.from(await part.arrayBuffer())).toEqual(whole.subarray(100, 200));

    const tail = await fetch(link.url, { headers: { Range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(whole.subarray(whole.length - 10));

    const beyond = await fetch(link.url, { headers: { Range: `bytes=${row.sizeBytes}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${row.sizeBytes}`);
    expect(await downloads()).toBe(before); // HEAD, a resumed range and a refused range are not downloads
  });

  it('refuses expired and tampered links with 403 and unknown backups with 404, revealing nothing', async () => {
    const link = await linkFor(ids[0]!);
    const url = new URL(link.url);
    const signature = url.searchParams.get('signature')!;
    const tampered = [
      new URL(url),
      new URL(url),
      new URL(url),
      new URL(url.toString().replace(ids[0]!, ids[0]!.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')))),
    ];
    tampered[0]!.searchParams.set('signature', (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1));
    tampered[1]!.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    tampered[2]!.searchParams.delete('signature');
    for (const bad of tampered) {
      const res = await fetch(bad);
      expect(res.status, bad.toString()).toBe(403);
      const body = await res.text();
      expect(body).not.toMatch(/stack|at \w+ \(|\.ts:/);
    }
    clock.advance(901_000);
    const expired = await fetch(link.url);
    expect(expired.status).toBe(403);
    expect(await expired.json()).toEqual({ error: { code: 'FORBIDDEN', message: 'This download link is invalid or has expired' } });
  });

  it("will not sign a link to another organization's backup", async () => {
    const res = await t.gql(other.admin.token, LINK, { id: ids[0] });
    expect(codeOf(res)).toBe('NOT_FOUND');
  });

  it('keeps the last three archives: a fourth expires the oldest (file deleted, row EXPIRED, event and activity)', async () => {
    const events = subscribe<{ backupEvents: { kind: string; backup: { id: string; status: string; downloadable: boolean } } }>(
      t.ws(org.admin.token),
      'subscription { backupEvents { kind backup { id status downloadable } } }',
    );
    await publishUntilReceived(() => events.events.length, () =>
      t.app.services.pool.query(eventNotifyQuery('backupEvent', org.organizationId, { backupId: ids[0]!, kind: 'COMPLETED', at: new Date().toISOString() })),
    );
    const oldest = await backupRow(t.app.services.pool, ids[0]!);
    const oldLink = await linkFor(oldest.id);
    ids.push(await backupNow(), await backupNow());
    expect((await backupRow(t.app.services.pool, ids[0]!)).status).toBe('COMPLETED');
    ids.push(await backupNow());

    const expired = await backupRow(t.app.services.pool, ids[0]!);
    expect(expired.status).toBe('EXPIRED');
    // The file goes after the transaction that expired the row commits (never before: the row decides).
    await eventually(() => fs.stat(path.join(storage, oldest.storageKey!)).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ENOENT'), 'the expired archive to be deleted', 10_000);
    for (const id of ids.slice(1)) expect((await backupRow(t.app.services.pool, id)).status).toBe('COMPLETED');
    const expiredEvent = await events.waitFor((e) => e.backupEvents.kind === 'EXPIRED');
    expect(expiredEvent.backupEvents.backup).toEqual({ id: ids[0], status: 'EXPIRED', downloadable: false });
    const { rows } = await t.app.services.pool.query(`select 1 from activity_events where kind = 'backup.expired' and subject_id = $1`, [ids[0]]);
    expect(rows).toHaveLength(1);

    expect(codeOf(await t.gql(org.admin.token, LINK, { id: ids[0] }))).toBe('BACKUP_NOT_DOWNLOADABLE');
    const stale = await fetch(oldLink.url);
    expect(stale.status).toBe(404);
    expect(await stale.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'No such backup archive' } });
    const read = await t.gql<{ backup: { status: string; downloadable: boolean } }>(org.admin.token, 'query($id: ID!) { backup(id: $id) { status downloadable } }', { id: ids[0] });
    expect(read.data?.backup).toEqual({ status: 'EXPIRED', downloadable: false });
  });

  it('lists the history newest first, page by page', async () => {
    const page = async (after: string | null) =>
      (await t.gql<{ backups: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string }; totalCount: number } }>(
        org.admin.token,
        'query($after: String) { backups(first: 3, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } totalCount } }',
        { after },
      )).data!.backups;
    const first = await page(null);
    expect(first.totalCount).toBe(4);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await page(first.pageInfo.endCursor);
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect([...first.nodes, ...second.nodes].map((n) => n.id)).toEqual([...ids].reverse());
  });
});
