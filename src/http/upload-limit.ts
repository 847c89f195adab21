import { Transform, type TransformCallback, type Writable } from 'node:stream';
import type { Request } from 'express';
import { EdgeError } from './errors.ts';

/** The refusal of an upload body over `maxBytes` (413). */
export const uploadTooLarge = (maxBytes: number, what = 'file'): EdgeError =>
  new EdgeError('PAYLOAD_TOO_LARGE', `${what}: must be at most ${maxBytes} bytes`);

/**
 * Passes bytes through until more than `maxBytes` have gone by, then fails with PAYLOAD_TOO_LARGE — at the chunk
 * that crosses the limit, whether the body was announced (Content-Length) or chunked.
 */
export class ByteLimit extends Transform {
  private seen = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly what = 'file',
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) return callback(uploadTooLarge(this.maxBytes, this.what));
    callback(null, chunk);
  }
}

/**
 * Feeds a request body to `target` (a multipart parser, a file) through a ByteLimit. When the limit is crossed,
 * `target` is destroyed with the PAYLOAD_TOO_LARGE error, so whatever awaits it fails at once, and the request
 * is left unread and open: the route answers 413 right away (http/upload-refusal.ts then reads and discards
 * a bounded rest of the body so the client can read it).
 */
export function pipeWithLimit(req: Request, target: Writable, maxBytes: number, what = 'file'): void {
  const limit = new ByteLimit(maxBytes, what);
  limit.once('error', (error) => {
    req.unpipe(limit);
    target.destroy(error);
  });
  req.pipe(limit).pipe(target);
}
