import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import busboy from 'busboy';
import type { Request } from 'express';
import { EdgeError } from '../../http/errors.ts';
import { ByteLimit } from '../../http/upload-limit.ts';
import { AppError, badInput } from '../../shared/app-error.ts';
import type { BlobStore, BlobUpload } from '../../storage/blob-store.ts';
import type { ImportFormat } from './import-job.repository.ts';
import { FormatCheck, formatOfName } from './import-inspect.ts';

/** The multipart body of `POST /imports` once received: the small fields, and the file, already in the blob store. */
export interface ReceivedUpload {
  fields: Map<string, string[]>;
  file?: { key: string; name: string; format: ImportFormat; size: number };
}

export const tooLarge = (maxBytes: number) => new EdgeError('PAYLOAD_TOO_LARGE', `file: must be at most ${maxBytes} bytes`);

/** Room for the multipart envelope (boundaries, part headers, the small fields) around the file itself. */
export const ENVELOPE_BYTES = 64 * 1024;
/** How long a refusal waits for the stored part's write to end before answering anyway (it ends at once normally). */
const STORE_SETTLE_MS = 5_000;

/**
 * Streams the one file part of a multipart body straight into the blob store (never to memory, never parsed),
 * under the key `keyOf(format)` gives. It refuses as soon as it can: a file over `maxBytes` when the byte that
 * crosses the limit arrives (chunked or not), a name or first bytes that are not a CSV/XLSX/ZIP, a second file.
 * Whatever goes wrong, nothing stays in the store; on success the caller owns the blob.
 */
export function receiveUpload(req: Request, store: BlobStore, maxBytes: number, keyOf: (format: ImportFormat) => string): Promise<ReceivedUpload> {
  return new UploadReceiver(req, store, maxBytes, keyOf).run();
}

class UploadReceiver {
  private readonly received: ReceivedUpload = { fields: new Map() };
  private blob: BlobUpload | undefined;
  private stored: Promise<void> | undefined;
  private failed: unknown;
  private readonly parser: busboy.Busboy;
  /** The whole body's limit, so a chunked body that never reaches a file part is cut off too. */
  private readonly bodyLimit: ByteLimit;
  private reject: (error: unknown) => void = () => undefined;
  private readonly req: Request;
  private readonly store: BlobStore;
  private readonly maxBytes: number;
  private readonly keyOf: (format: ImportFormat) => string;

  constructor(req: Request, store: BlobStore, maxBytes: number, keyOf: (format: ImportFormat) => string) {
    this.req = req;
    this.store = store;
    this.maxBytes = maxBytes;
    this.keyOf = keyOf;
    this.parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: maxBytes, fields: 10, fieldSize: 10_000, parts: 12 } });
    this.bodyLimit = new ByteLimit(maxBytes + ENVELOPE_BYTES, 'body');
  }

  run(): Promise<ReceivedUpload> {
    return new Promise<ReceivedUpload>((resolve, reject) => {
      this.reject = reject;
      const { parser, req, received } = this;
      parser.on('field', (name, value) => received.fields.set(name, [...(received.fields.get(name) ?? []), value]));
      parser.on('file', (name, stream, info) => this.onFile(name, stream, info.filename));
      parser.on('filesLimit', () => this.fail(badInput('file', 'send exactly one file')));
      parser.on('partsLimit', () => this.fail(badInput('body', 'has too many parts')));
      parser.on('error', () => this.fail(badInput('body', 'is not a well-formed multipart/form-data body')));
      this.bodyLimit.on('error', (error) => this.fail(error));
      parser.on('close', () => {
        void (this.stored ?? Promise.resolve()).then(() => {
          if (this.failed === undefined) resolve(received);
        }, () => undefined);
      });
      // A client that goes away mid-upload must not leave the parse waiting for ever.
      req.once('close', () => {
        if (!req.complete) this.fail(badInput('body', 'the upload was aborted before its end'));
      });
      req.pipe(this.bodyLimit).pipe(parser);
    });
  }

  private onFile(name: string, stream: Readable & { truncated?: boolean }, filename: string | undefined): void {
    // Destroying the parser (a refusal) destroys the part's stream with an error: the refusal is already decided.
    stream.on('error', () => undefined);
    if (name !== 'file' || this.stored) {
      stream.resume();
      return this.fail(badInput(name, 'unexpected file field: send one file, in the field "file"'));
    }
    const fileName = path.basename(filename ?? '') || 'upload';
    let format: ImportFormat;
    try {
      format = formatOfName(fileName);
    } catch (error) {
      stream.resume();
      return this.fail(error);
    }
    stream.on('limit', () => this.fail(tooLarge(this.maxBytes)));
    this.stored = this.storeFile(stream, fileName, format);
    this.stored.catch((error: unknown) => this.fail(error));
  }

  private async storeFile(stream: Readable & { truncated?: boolean }, name: string, format: ImportFormat): Promise<void> {
    const key = this.keyOf(format);
    const blob = await this.store.beginUpload(key);
    if (this.failed !== undefined) {
      await blob.abort(); // refused while the upload was being set up
      throw this.failed;
    }
    this.blob = blob;
    await pipeline(stream, new FormatCheck(format), this.blob.stream);
    if (stream.truncated || this.failed !== undefined) throw this.failed ?? tooLarge(this.maxBytes);
    const written = await this.blob.commit();
    this.received.file = { key, name, format, size: written.size };
  }

  /** The first problem wins: stop reading the body, drop what was stored, and refuse (the route answers at once). */
  private fail(error: unknown): void {
    if (this.failed !== undefined) return;
    this.failed = error instanceof AppError || error instanceof EdgeError ? error : badInput('body', 'is not a well-formed multipart/form-data body');
    this.req.unpipe(this.bodyLimit);
    this.parser.removeAllListeners('close');
    this.parser.destroy();
    // The answer waits for the stored part to be gone: a refused upload leaves nothing in the store. The part's
    // write ends (with an error) as soon as the parser is destroyed; only then is the blob set up or not.
    const settled = Promise.race([(this.stored ?? Promise.resolve()).catch(() => undefined), delay(STORE_SETTLE_MS, undefined, { ref: false })]);
    const cleanUp = settled.then(async () => {
      const blob = this.blob;
      if (blob) await blob.abort().then(() => this.store.delete(blob.key));
    });
    void cleanUp.then(
      () => this.reject(this.failed),
      () => this.reject(this.failed),
    );
  }
}
