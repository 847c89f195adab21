import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { S3BlobStore } from '../../src/storage/s3-blob-store.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { backupRow, eventually, seedRecords, tempStorageDir, verifyZip, waitForStatus } from '../support/backup-helpers.ts';
import { startLocalS3, type LocalS3 } from '../support/s3-server.ts';

const LINK = 'mutation($id: ID!) { createBackupDownloadLink(id: $id) { url expiresAt } }';
const PREFIX = 'prod/archives';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The service with STORAGE_URL=s3://… against a real S3 API (s3rver): archives are written to the bucket, served
 * through the same signed links (streamed through the service, HEAD and Range included) and expired from it.
 */
describe('backups archived on S3', () => {
  const clock = new ManualClock('2026-03-01T00:00:00.000Z');
  let s3: LocalS3;
  let t: TestApp;
  let org: TestOrg;
  const ids: string[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3();
    t = await startTestApp({ clock, env: s3.env(PREFIX) });
    org = await createOrg(t.app);
    await seedRecords(t.app.services.pool, org.organizationId, { leads: 300, contacts: 400, accounts: 50, deals: 50 });
  });
  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  async function backupNow(): Promise<string> {
    clock.advance(60_000);
    const res = await t.gql<{ startManualBackup: { id: string } }>(org.admin.token, 'mutation { startManualBackup { id } }');
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    const id = res.data!.startManualBackup.id;
    await waitForStatus(t.app.services.pool, id, ['COMPLETED', 'FAILED'], 60_000);
    return id;
  }
  async function linkFor(id: string): Promise<string> {
    const res = await t.gql<{ createBackupDownloadLink: { url: string } }>(org.admin.token, LINK, { id });
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.createBackupDownloadLink.url;
  }
  async function storedObject(key: string): Promise<Buffer> {
    const res = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${key}` }));
    return Buffer.from(await res.Body!.transformToByteArray());
  }

  it('uses the S3 store STORAGE_URL names, and writes nothing to the local folder', () => {
    expect(t.app.services.storage).toBeInstanceOf(S3BlobStore);
    expect(t.app.services.config.storage).toMatchObject({ kind: 's3', bucket: s3.bucket, prefix: PREFIX });
  });

  it('stores the archive byte for byte: the sha256 of the object in the bucket is the one recorded', async () => {
    ids.push(await backupNow());
    const row = await backupRow(t.app.services.pool, ids[0]!);
    expect(row).toMatchObject({ status: 'COMPLETED', storageKey: `${org.organizationId}/${row.id}-1.zip` });
    expect(await s3.keys(PREFIX)).toEqual([`${PREFIX}/${row.storageKey}`]);
    const bytes = await storedObject(row.storageKey!);
    expect(bytes.length).toBe(row.sizeBytes);
    expect(sha256(bytes)).toBe(row.sha256);
    const copy = path.join(await tempStorageDir(), row.fileName!);
    await fs.writeFile(copy, bytes);
    expect((await verifyZip(copy)).manifest).toMatchObject({ backupId: row.id, organization: { id: org.organizationId } });
    await expect(fs.stat(t.app.services.config.storageDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('downloads it through the signed link (streamed from S3), with HEAD and Range, and records the download', async () => {
    const row = await backupRow(t.app.services.pool, ids[0]!);
    const url = await linkFor(row.id);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-length')).toBe(String(row.sizeBytes));
    expect(res.headers.get('etag')).toBe(`"${row.sha256}"`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(sha256(body)).toBe(row.sha256);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(row.sizeBytes));
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    const part = await fetch(url, { headers: { Range: 'bytes=100-4195' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-4195/${row.sizeBytes}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(body.subarray(100, 4196));
    const tail = await fetch(url, { headers: { Range: 'bytes=-10' } });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(body.subarray(body.length - 10));
    const beyond = await fetch(url, { headers: { Range: `bytes=${row.sizeBytes}-` } });
    expect(beyond.status).toBe(416);

    const { rows } = await t.app.services.pool.query(`select summary from activity_events where kind = 'backup.downloaded' and subject_id = $1`, [row.id]);
    expect(rows).toEqual([{ summary: 'Backup archive downloaded' }]); // HEAD and ranges not from byte 0 are not downloads
  });

  it('keeps the last three archives: a fourth deletes the oldest object from the bucket', async () => {
    const oldest = await backupRow(t.app.services.pool, ids[0]!);
    const oldLink = await linkFor(oldest.id);
    ids.push(await backupNow(), await backupNow());
    expect(await s3.keys(PREFIX)).toHaveLength(3);
    ids.push(await backupNow());

    expect((await backupRow(t.app.services.pool, ids[0]!)).status).toBe('EXPIRED');
    const kept = await Promise.all(ids.slice(1).map((id) => backupRow(t.app.services.pool, id)));
    expect(kept.map((r) => r.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    // The object goes after the transaction that expired the row commits.
    const want = JSON.stringify(kept.map((r) => `${PREFIX}/${r.storageKey}`).sort());
    await eventually(async () => JSON.stringify(await s3.keys(PREFIX)) === want, 'the expired object to be deleted', 10_000);
    expect((await fetch(oldLink)).status).toBe(404);
  });
});
