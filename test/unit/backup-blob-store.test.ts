import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobNotFoundError } from '../../src/storage/blob-store.ts';
import { FsBlobStore } from '../../src/storage/fs-blob-store.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('FsBlobStore', () => {
  let root: string;
  let store: FsBlobStore;
  const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'blob-store-'));
    store = new FsBlobStore(root);
  });
  afterAll(async () => fs.rm(root, { recursive: true, force: true }));

  it('puts a blob and reports its size and checksum; reads it whole and by range; stats and deletes it', async () => {
    const written = await store.put('org/a.zip', Readable.from([data.subarray(0, 40_000), data.subarray(40_000)]));
    expect(written).toEqual({ key: 'org/a.zip', size: data.length, sha256: sha(data) });
    expect(sha(await readAll(await store.openRead('org/a.zip')))).toBe(sha(data));
    expect(await readAll(await store.openRead('org/a.zip', { start: 10, end: 19 }))).toEqual(data.subarray(10, 20));
    expect((await store.stat('org/a.zip'))?.size).toBe(data.length);
    expect(await store.delete('org/a.zip')).toBe(true);
    expect(await store.stat('org/a.zip')).toBeUndefined();
    expect(await store.delete('org/a.zip')).toBe(false);
  });

  it('keeps an upload invisible until commit, and leaves nothing behind on abort', async () => {
    const upload = await store.beginUpload('org/b.zip');
    upload.stream.write(data.subarray(0, 1000));
    expect(await store.stat('org/b.zip')).toBeUndefined();
    await upload.abort();
    expect(await store.stat('org/b.zip')).toBeUndefined();
    expect((await fs.readdir(path.join(root, 'org'))).filter((f) => f.startsWith('b.zip'))).toEqual([]);

    const second = await store.beginUpload('org/b.zip');
    second.stream.end(data);
    const written = await second.commit();
    expect(written.sha256).toBe(sha(data));
    expect((await store.stat('org/b.zip'))?.size).toBe(data.length);
  });

  it('removes partial files a killed writer left when the key is deleted', async () => {
    await fs.writeFile(path.join(root, 'org', 'c.zip.abc123.part'), 'half');
    expect(await store.delete('org/c.zip')).toBe(false);
    expect((await fs.readdir(path.join(root, 'org'))).some((f) => f.startsWith('c.zip'))).toBe(false);
  });

  it('refuses keys that could leave the store or name a partial file', async () => {
    for (const key of ['../x', '/abs', 'a//b', 'a/../b', 'a/.hidden', 'x.zip.part', '']) {
      await expect(store.stat(key), key).rejects.toThrow(RangeError);
    }
  });

  it('says not found for a missing blob', async () => {
    await expect(store.openRead('org/missing.zip')).rejects.toBeInstanceOf(BlobNotFoundError);
  });
});
