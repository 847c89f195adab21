import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobStore, BlobUpload } from '../../src/storage/blob-store.ts';

/**
 * A blob store whose uploads take `delayMs` per chunk written: a backup then lasts long enough to be killed in
 * the middle. Everything else is the wrapped store's.
 */
export function slowBlobStore(inner: BlobStore, delayMs: number): BlobStore {
  return {
    put: (key, source) => inner.put(key, source),
    openRead: (key, range) => inner.openRead(key, range),
    stat: (key) => inner.stat(key),
    delete: (key) => inner.delete(key),
    sweepAbandoned: (idleSince) => inner.sweepAbandoned(idleSince),
    beginUpload: async (key): Promise<BlobUpload> => {
      const upload = await inner.beginUpload(key);
      const slow = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          sleep(delayMs).then(() => callback(null, chunk), callback);
        },
      });
      const piped = pipeline(slow, upload.stream);
      piped.catch(() => undefined); // awaited by commit; a failed build reports its own error
      return {
        key,
        stream: slow,
        commit: async () => {
          await piped;
          return upload.commit();
        },
        abort: () => upload.abort(),
      };
    },
  };
}
