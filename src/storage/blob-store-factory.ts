import type { StorageConfig } from '../config.ts';
import type { Logger } from '../shared/logger.ts';
import type { BlobStore } from './blob-store.ts';
import type { S3BlobStoreOptions } from './s3-blob-store.ts';
import { FsBlobStore } from './fs-blob-store.ts';

export interface BlobStoreHandle {
  store: BlobStore;
  /** Releases what the store holds open (the S3 client's sockets). */
  close(): Promise<void>;
}

/**
 * The store STORAGE_URL names; `tuning` sizes S3 multipart parts (benchmarks, tests). The S3 client loads on first use of an `s3:` URL only, so a folder store costs
 * no AWS SDK in memory.
 */
export async function createBlobStore(
  storage: StorageConfig,
  log: Logger,
  tuning: Pick<S3BlobStoreOptions, 'partSize' | 'queueSize'> = {},
): Promise<BlobStoreHandle> {
  if (storage.kind === 'file') return { store: new FsBlobStore(storage.dir), close: async () => undefined };
  const [{ S3Client }, { S3BlobStore }] = await Promise.all([import('@aws-sdk/client-s3'), import('./s3-blob-store.ts')]);
  const client = new S3Client({
    endpoint: storage.endpoint,
    forcePathStyle: storage.forcePathStyle,
    // An S3-compatible endpoint rarely cares about the region, but the SDK refuses to sign without one.
    region: storage.region ?? (storage.endpoint ? 'us-east-1' : undefined),
    credentials: storage.credentials,
    // Plain bodies, no aws-chunked framing or trailing checksums: S3-compatible stores that do not understand
    // them save the framing as part of the object (see s3-blob-store.ts).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const store = new S3BlobStore({ ...tuning, client, bucket: storage.bucket, prefix: storage.prefix, log: log.child({ component: 'blob-store' }) });
  return { store, close: async () => client.destroy() };
}
