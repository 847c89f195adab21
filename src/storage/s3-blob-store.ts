import { createHash } from 'node:crypto';
import { PassThrough, type Readable, Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Logger } from '../shared/logger.ts';
import {
  assertBlobKey,
  BlobNotFoundError,
  BlobStoreError,
  putThroughUpload,
  type BlobInfo,
  type BlobStore,
  type BlobUpload,
  type BlobWritten,
  type ByteRange,
} from './blob-store.ts';

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix without leading or trailing slash ('' for the bucket's root). */
  prefix: string;
  log: Logger;
  /** Bytes per multipart part (S3's minimum is 5 MiB). Memory held per upload ≈ partSize × (queueSize + 1). */
  partSize?: number;
  /** Parts uploaded at once per upload. */
  queueSize?: number;
}

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/**
 * Blobs as objects of one S3 bucket under a prefix. A write streams into a multipart upload (lib-storage)
 * while it is produced, with no local copy; the object exists under its key only once S3 completes the upload,
 * which `commit()` triggers: the stream handed out never ends the upload's body by itself, so a writer that
 * finishes, fails or is killed before commit leaves no object. A killed process leaves an incomplete multipart
 * upload behind (invisible, but billed): `delete(key)` aborts those it can list, and the bucket's
 * AbortIncompleteMultipartUpload lifecycle rule is the net under it (README "Archives on S3").
 *
 * The client must be built with `requestChecksumCalculation: 'WHEN_REQUIRED'` (blob-store-factory.ts): by default
 * SDK v3 sends streamed bodies aws-chunked with trailing checksums, which some S3-compatible stores save verbatim.
 * `commit()` checks the stored size against the bytes written, so such corruption fails the write instead of
 * publishing a broken archive.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly log: Logger;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(opts: S3BlobStoreOptions) {
    this.client = opts.client;
    this.bucket = opts.bucket;
    this.prefix = opts.prefix;
    this.log = opts.log;
    this.partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    this.queueSize = opts.queueSize ?? 2;
  }

  async put(key: string, source: Readable | AsyncIterable<Uint8Array>): Promise<BlobWritten> {
    return putThroughUpload(await this.beginUpload(key), source);
  }

  async beginUpload(key: string): Promise<BlobUpload> {
    const objectKey = this.objectKey(key);
    const body = new PassThrough();
    const hash = createHash('sha256');
    let size = 0;
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: objectKey, Body: body, ContentType: 'application/zip' },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false, // a failed upload aborts its multipart upload (where the store implements that)
    });
    const done = upload.done().catch((error: unknown) => {
      throw storeError(error, 'upload');
    });
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        if (body.write(chunk)) callback();
        else body.once('drain', () => callback());
      },
      // The writer's end is not the upload's end: the body stays open until commit(), so S3 has no object yet.
      final: (callback) => callback(),
    });
    // A store that refuses the upload stops reading the body: fail the writer rather than leave it waiting on 'drain'.
    done.catch((error: Error) => stream.destroy(error));
    let settled = false;
    return {
      key,
      stream,
      commit: async () => {
        if (settled) throw new Error(`upload of ${key} already settled`);
        settled = true;
        await endWriter(stream);
        body.end();
        await done;
        await this.verifySize(key, objectKey, size);
        return { key, size, sha256: hash.digest('hex') };
      },
      abort: async () => {
        if (settled) return;
        settled = true;
        const aborted = new Error(`upload of ${key} aborted`);
        stream.destroy();
        body.destroy(aborted);
        // The rejection is the abort itself; a failure to abort the multipart upload is logged, not thrown,
        // because abort() runs on failure paths that must go on (the lifecycle rule collects what is left).
        await done.then(
          () => undefined,
          (error: Error) => {
            if (error !== aborted) this.log.warn({ key: objectKey, err: error.message }, 'could not abort a multipart upload');
          },
        );
      },
    };
  }

  async openRead(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
      return res.Body as Readable; // Node's SDK runtime: an http.IncomingMessage
    } catch (error) {
      if (isNotFound(error)) throw new BlobNotFoundError(key);
      throw storeError(error, 'read');
    }
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { key, size: res.ContentLength ?? 0, modifiedAt: res.LastModified ?? new Date(0) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw storeError(error, 'stat');
    }
  }

  async delete(key: string): Promise<boolean> {
    const objectKey = this.objectKey(key);
    await this.abortUnfinished(objectKey);
    const existed = (await this.stat(key)) !== undefined;
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey })).catch((error: unknown) => {
      throw storeError(error, 'delete');
    });
    return existed;
  }

  /**
   * Nothing to do here: an incomplete multipart upload is invisible and costs only storage, and listing them is
   * not implemented by every S3 API; the bucket's AbortIncompleteMultipartUpload lifecycle rule removes them.
   */
  async sweepAbandoned(_idleSince: Date): Promise<number> {
    return 0;
  }

  /**
   * Aborts incomplete multipart uploads of exactly this object (a killed writer's). Best effort: the object's own
   * deletion must not depend on it, so a store that cannot list them (NotImplemented, e.g. s3rver) or credentials
   * without the permission are logged, and the bucket's lifecycle rule removes what is left.
   */
  private async abortUnfinished(objectKey: string): Promise<void> {
    try {
      const uploads = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: objectKey }));
      for (const unfinished of uploads.Uploads ?? []) {
        if (unfinished.Key !== objectKey || !unfinished.UploadId) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: unfinished.UploadId }));
      }
    } catch (error) {
      const unsupported = error instanceof S3ServiceException && error.name === 'NotImplemented';
      const message = 'could not abort unfinished multipart uploads; the bucket lifecycle rule must remove them';
      if (unsupported) this.log.debug({ key: objectKey }, message);
      else this.log.warn({ key: objectKey, err: (error as Error).message }, message);
    }
  }

  /** What the store holds must be what was written; otherwise the object goes and the write fails. */
  private async verifySize(key: string, objectKey: string, written: number): Promise<void> {
    const stored = await this.stat(key);
    if (stored?.size === written) return;
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey })).catch((error: unknown) => {
      throw storeError(error, 'delete');
    });
    throw new Error(`object store kept ${stored?.size ?? 'no'} bytes of ${written} written for ${key}`);
  }

  private objectKey(key: string): string {
    assertBlobKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }
}

/** S3's refusals as BlobStoreError (their name is the code admins see); anything else as it came. */
function storeError(error: unknown, operation: string): unknown {
  if (!(error instanceof S3ServiceException)) return error;
  return new BlobStoreError(`object store refused the ${operation}: ${error.name}`, error.name, { cause: error });
}

function isNotFound(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404);
}

/** Ends the writer (a commit without an explicit end) and waits until everything written reached the body. */
function endWriter(stream: Writable): Promise<void> {
  if (stream.writableFinished) return Promise.resolve();
  return new Promise((resolve, reject) => {
    stream.once('finish', resolve);
    stream.once('error', reject);
    if (!stream.writableEnded) stream.end();
  });
}
