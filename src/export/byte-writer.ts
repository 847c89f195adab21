import { type ByteSink, DEFAULT_CHUNK_BYTES } from './chunk-writer.ts';

const EMPTY = Buffer.alloc(0);

/**
 * An output buffer for byte-level writers. The hot path writes straight into `buf` at `pos` (after `ensure`);
 * full chunks are set aside for the caller to hand on with backpressure (`take`). Chunks are never reused: a
 * consumer may still hold one, or have transferred its memory to another thread.
 */
export class ByteWriter {
  buf: Buffer;
  pos = 0;
  readonly #chunkBytes: number;
  #full: Buffer[] = [];
  #flushed = 0;

  constructor(chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.#chunkBytes = chunkBytes;
    this.buf = Buffer.allocUnsafeSlow(chunkBytes);
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#flushed + this.pos;
  }

  /** True when a full chunk is waiting to be taken. */
  get hasFull(): boolean {
    return this.#full.length > 0;
  }

  /** Makes room for `n` more bytes at `pos`. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.#rotate(n);
  }

  writeString(text: string): void {
    this.ensure(text.length * 3); // a UTF-16 code unit never takes more than 3 UTF-8 bytes
    this.pos += this.buf.write(text, this.pos);
  }

  writeBytes(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** The full chunks, handed over; with `all`, the partly filled one too. */
  take(all = false): Buffer[] {
    if (all && this.pos > 0) {
      this.#full.push(this.buf.subarray(0, this.pos));
      this.#flushed += this.pos;
      this.buf = EMPTY; // the next write allocates a fresh chunk
      this.pos = 0;
    }
    const chunks = this.#full;
    this.#full = [];
    return chunks;
  }

  #rotate(needed: number): void {
    if (this.pos > 0) this.#full.push(this.buf.subarray(0, this.pos));
    this.#flushed += this.pos;
    this.buf = Buffer.allocUnsafeSlow(Math.max(this.#chunkBytes, needed));
    this.pos = 0;
  }

  /** Hands the full chunks (with `all`, everything) to a sink, one at a time, waiting for it to take each. */
  async drainTo(sink: ByteSink, all = false): Promise<void> {
    for (const chunk of this.take(all)) await sink.write(chunk);
  }
}
