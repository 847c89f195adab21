import type { Job } from 'pg-boss';
import type { QueueDefinition } from '../../jobs/registry.ts';
import { RETENTION_RECOMPUTE_QUEUE, type RecomputeJob } from './retention-recompute.service.ts';

export { RETENTION_RECOMPUTE_QUEUE, type RecomputeJob };
export const RETENTION_SWEEP_QUEUE = 'retention-sweep';
/** Every 5 minutes (UTC); `retention sweep` on the CLI runs one at once. */
export const RETENTION_SWEEP_CRON = '*/5 * * * *';

const recompute: QueueDefinition<RecomputeJob> = {
  name: RETENTION_RECOMPUTE_QUEUE,
  // A 1M-record module takes minutes; a retry starts over, which is harmless (each batch applies current rules).
  queue: { expireInSeconds: 3600, retryLimit: 5, retryDelay: 5, retryBackoff: true, notify: true },
  work: { pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
  handler: async (services, jobs: Job<RecomputeJob>[]) => {
    for (const job of jobs) await services.retention.runRecomputeJob(job.data);
  },
};

const sweep: QueueDefinition = {
  name: RETENTION_SWEEP_QUEUE,
  // stately: one sweep queued and one active at most, so a long sweep is not joined by one every 5 minutes
  // (concurrent sweeps would be safe, FOR UPDATE SKIP LOCKED, only wasteful).
  queue: { policy: 'stately', expireInSeconds: 3600, retryLimit: 1 },
  cron: RETENTION_SWEEP_CRON,
  handler: async (services) => {
    await services.retention.sweep({ onBatch: (batch) => services.metrics.retentionBatch(batch.pass, batch.count, batch.lockMs) });
  },
};

export const RETENTION_QUEUES: QueueDefinition[] = [recompute as QueueDefinition, sweep];
