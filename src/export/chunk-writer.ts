import type { Writable } from 'node:stream';

/** Where encoded bytes go. `write` settles when the sink can take more (backpressure). */
export interface ByteSink {
  write(chunk: Buffer): Promise<void>;
}

/** Output is produced and handed on in chunks of this size: large enough that per-chunk costs vanish. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

/** A sink over a Node writable: waits for 'drain' when its buffer is full; fails when the stream does. */
export function writableSink(stream: Writable): ByteSink {
  return {
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        if (stream.destroyed) {
          reject(stream.errored ?? new Error('stream was destroyed'));
          return;
        }
        if (stream.write(chunk)) {
          resolve();
          return;
        }
        const onDrain = (): void => {
          stream.off('close', onClose);
          resolve();
        };
        const onClose = (): void => {
          stream.off('drain', onDrain);
          reject(stream.errored ?? new Error('stream closed before draining'));
        };
        stream.once('drain', onDrain);
        stream.once('close', onClose);
      }),
  };
}
