import type { QueueDefinition } from '../jobs/registry.ts';

export const BLOB_SWEEP_QUEUE = 'blob-sweep';

/**
 * Unfinished writes are kept this long after their last byte. An import's upload is written under a key of its
 * own that is never written again, so a process killed mid-upload leaves its `.part` file for good unless swept;
 * a day is far longer than any live write stays idle (the upload's socket times out long before).
 */
export const ABANDONED_WRITE_IDLE_HOURS = 24;

/** Daily, in one worker: unfinished writes of the blob store idle for a day (a no-op on S3: see S3BlobStore). */
export const blobSweepQueue: QueueDefinition = {
  name: BLOB_SWEEP_QUEUE,
  queue: { policy: 'singleton', retryLimit: 2, expireInSeconds: 1800 },
  cron: '47 3 * * *',
  handler: async (services) => {
    const idleSince = new Date(services.clock.now().getTime() - ABANDONED_WRITE_IDLE_HOURS * 3600 * 1000);
    const removed = await services.storage.sweepAbandoned(idleSince);
    if (removed > 0) services.log.info({ removed }, 'removed unfinished blob writes abandoned by a stopped process');
  },
};
