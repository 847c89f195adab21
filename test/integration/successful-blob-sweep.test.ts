import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/storage/fs-blob-store.ts';
import { ABANDONED_WRITE_IDLE_HOURS, blobSweepQueue } from '../../src/storage/storage.jobs.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const HOUR = 3600 * 1000;

/** Whether a path exists under the store's root. */
const exists = (root: string, name: string) => fs.stat(path.join(root, name)).then(() => true, () => false);

/*
 * A process killed mid-write leaves a `.part` file under a key nobody writes again (an import's upload): the daily
 * blob-sweep job removes it once idle for a day, and nothing else.
 */
describe('the daily sweep of abandoned blob writes (file store)', () => {
  let t: TestApp & { close(): Promise<void> };
  let root: string;
  beforeAll(async () => {
    t = await startTestApp({ role: 'worker' });
    root = (t.app.services.storage as FsBlobStore).root;
  });
  afterAll(async () => t?.close());

  it('removes a write idle for more than a day; keeps a live write, a recently idle one and every finished blob', async () => {
    const { storage } = t.app.services;
    await storage.put('imports/org-1/done.csv', Readable.from([Buffer.from('a,b\n')]));
    const live = await storage.beginUpload('imports/org-1/live.csv');
    live.stream.write(Buffer.from('id,name\n'));
    await fs.mkdir(path.join(root, 'imports', 'org-2'), { recursive: true });
    const killed = path.join('imports', 'org-2', 'upload.csv.0a1b2c3d4e5f.part');
    const recent = path.join('imports', 'org-2', 'other.csv.1a2b3c4d5e6f.part');
    await fs.writeFile(path.join(root, killed), 'half an upload');
    await fs.writeFile(path.join(root, recent), 'a quarter');
    const idle = (hours: number) => new Date(Date.now() - hours * HOUR);
    await fs.utimes(path.join(root, killed), idle(ABANDONED_WRITE_IDLE_HOURS + 1), idle(ABANDONED_WRITE_IDLE_HOURS + 1));
    await fs.utimes(path.join(root, recent), idle(ABANDONED_WRITE_IDLE_HOURS - 1), idle(ABANDONED_WRITE_IDLE_HOURS - 1));

    await blobSweepQueue.handler(t.app.services, []);

    expect(await exists(root, killed)).toBe(false);
    expect(await exists(root, recent)).toBe(true);
    expect(await exists(root, 'imports/org-1/done.csv')).toBe(true);
    expect(await live.commit()).toMatchObject({ key: 'imports/org-1/live.csv', size: 8 });
    expect(await exists(root, 'imports/org-1/live.csv')).toBe(true);
  });

  it('is a no-op on an empty or missing store directory', async () => {
    expect(await new FsBlobStore(path.join(root, 'no-such-dir')).sweepAbandoned(new Date())).toBe(0);
  });
});
