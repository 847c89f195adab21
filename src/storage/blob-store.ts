import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A stored blob as `stat` sees it. */
export interface BlobInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

/** What a completed write produced: measured while writing, so nobody has to read the blob again. */
export interface BlobWritten {
  key: string;
  size: number;
  sha256: string;
}

/** Inclusive byte range, as HTTP `Range` names it. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * A write in progress. Bytes go to `stream` (a temporary file, or an S3 multipart upload); `commit()` makes the
 * blob visible under its key at once (a rename, or completing the upload), `abort()` throws the bytes away. Ending
 * `stream` does not publish anything: until `commit()` resolves, readers of the key see the previous blob or none,
 * never a part.
 */
export interface BlobUpload {
  readonly key: string;
  readonly stream: Writable;
  commit(): Promise<BlobWritten>;
  abort(): Promise<void>;
}

/**
 * Where backup archives live. Keys are relative paths of `[A-Za-z0-9._-]` segments joined by `/`
 * (e.g. `<organizationId>/<backupId>-1.zip`). Implementations: fs-blob-store.ts (a folder) and s3-blob-store.ts
 * (a bucket and prefix), chosen by STORAGE_URL in blob-store-factory.ts; test/unit/backup-blob-store.test.ts runs
 * the same contract against both.
 */
export interface BlobStore {
  /** Writes a whole blob from a stream (temporary name, then rename). */
  put(key: string, source: Readable | AsyncIterable<Uint8Array>): Promise<BlobWritten>;
  /** Starts a write that someone else's pipeline feeds (the archive builder writes into `stream`). */
  beginUpload(key: string): Promise<BlobUpload>;
  /** Reads the blob, or the inclusive `range` of it; rejects with a `BlobNotFoundError` when absent. */
  openRead(key: string, range?: ByteRange): Promise<Readable>;
  stat(key: string): Promise<BlobInfo | undefined>;
  /** Removes the blob and any unfinished write of it; true when a blob was removed. */
  delete(key: string): Promise<boolean>;
  /**
   * Removes unfinished writes nobody has touched since `idleSince` (a process killed mid-write under a key that is
   * never written again, such as an import's upload); resolves with how many went.
   */
  sweepAbandoned(idleSince: Date): Promise<number>;
}

/** `put` for any store: a whole blob written through its own upload, aborted (nothing visible) when the source fails. */
export async function putThroughUpload(upload: BlobUpload, source: Readable | AsyncIterable<Uint8Array>): Promise<BlobWritten> {
  try {
    await pipeline(source, upload.stream);
  } catch (error) {
    await upload.abort();
    throw error;
  }
  return upload.commit();
}

export class BlobNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`blob not found: ${key}`);
    this.name = 'BlobNotFoundError';
  }
}

/**
 * The store refused an operation (an S3 error such as NoSuchBucket or AccessDenied). `code` is the store's own
 * error name: safe to show to admins (no paths, keys or credentials).
 */
export class BlobStoreError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'BlobStoreError';
  }
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
export const PARTIAL_SUFFIX = '.part';

/** Throws on keys that could escape the store or collide with an unfinished write. */
export function assertBlobKey(key: string): void {
  const segments = key.split('/');
  const ok =
    key.length <= 1000 &&
    segments.every((s) => SEGMENT.test(s) && !s.includes('..')) &&
    !key.endsWith(PARTIAL_SUFFIX);
  if (!ok) throw new RangeError(`invalid blob key: ${JSON.stringify(key)}`);
}
