import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  assertBlobKey,
  BlobNotFoundError,
  PARTIAL_SUFFIX,
  putThroughUpload,
  type BlobInfo,
  type BlobStore,
  type BlobUpload,
  type BlobWritten,
  type ByteRange,
} from './blob-store.ts';

// ENOTDIR: a path through a file cannot hold the blob either.
const isMissing = (error: unknown) => ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '');

/**
 * Blobs as files under one directory (STORAGE_DIR). A write goes to `<key>.<random>.part` beside its target
 * (same filesystem, so the final rename is atomic), is flushed to disk, then renamed; the directory is synced so
 * the rename survives a crash. A killed writer leaves only a `.part` file, which `delete(key)` removes, or
 * `sweepAbandoned` once it has been idle long enough (keys written only once, like import uploads).
 */
export class FsBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  async put(key: string, source: Readable | AsyncIterable<Uint8Array>): Promise<BlobWritten> {
    return putThroughUpload(await this.beginUpload(key), source);
  }

  async beginUpload(key: string): Promise<BlobUpload> {
    const target = this.pathOf(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`;
    const hash = createHash('sha256');
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    // `flush: true` fsyncs before close: a committed blob is on disk, not only in the page cache.
    const written = pipeline(counter, createWriteStream(temp, { flags: 'wx', flush: true }));
    written.catch(() => undefined); // observed by commit/abort; never an unhandled rejection
    let settled = false;
    return {
      key,
      stream: counter,
      commit: async () => {
        if (settled) throw new Error(`upload of ${key} already settled`);
        settled = true;
        if (!counter.writableEnded) counter.end();
        try {
          await written;
          await fs.rename(temp, target);
        } catch (error) {
          await fs.rm(temp, { force: true });
          throw error;
        }
        await syncDirectory(path.dirname(target));
        return { key, size, sha256: hash.digest('hex') };
      },
      abort: async () => {
        if (settled) return;
        settled = true;
        counter.destroy();
        await written.catch(() => undefined);
        await fs.rm(temp, { force: true });
      },
    };
  }

  async openRead(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(key);
    // Open first, so a missing blob is an error of this call rather than of the stream later.
    const handle = await fs.open(file, 'r').catch((error: unknown) => {
      throw isMissing(error) ? new BlobNotFoundError(key) : error;
    });
    return handle.createReadStream({ start: range?.start, end: range?.end, autoClose: true });
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    try {
      const info = await fs.stat(this.pathOf(key));
      return info.isFile() ? { key, size: info.size, modifiedAt: info.mtime } : undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<boolean> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    const base = path.basename(target);
    const partials = await fs.readdir(dir).catch((error: unknown) => {
      if (isMissing(error)) return [] as string[];
      throw error;
    });
    for (const name of partials) {
      if (name.startsWith(`${base}.`) && name.endsWith(PARTIAL_SUFFIX)) await fs.rm(path.join(dir, name), { force: true });
    }
    try {
      await fs.unlink(target);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async sweepAbandoned(idleSince: Date): Promise<number> {
    const names = await fs.readdir(this.root, { recursive: true }).catch((error: unknown) => {
      if (isMissing(error)) return [] as string[];
      throw error;
    });
    let removed = 0;
    for (const name of names.filter((n) => n.endsWith(PARTIAL_SUFFIX))) {
      const file = path.join(this.root, name);
      // A live writer appends all the time: its file's mtime is recent. Gone meanwhile (committed): nothing to do.
      const info = await fs.stat(file).catch(() => undefined);
      if (!info?.isFile() || info.mtime >= idleSince) continue;
      await fs.rm(file, { force: true });
      removed += 1;
    }
    return removed;
  }

  private pathOf(key: string): string {
    assertBlobKey(key);
    return path.join(this.root, ...key.split('/'));
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
