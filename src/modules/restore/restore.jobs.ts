import type { QueueDefinition } from '../../jobs/registry.ts';
import { RETENTION_MODULES } from '../crm/crm.modules.ts';
import type { RetentionRecomputes } from '../retention/retention-recompute.service.ts';
import { IMPORT_QUEUE, type ImportJobData, type RestoreDeps } from './restore.service.ts';

/**
 * Import jobs. An import can run for minutes: no short expiry, but a heartbeat, so a worker that dies is noticed
 * within about half a minute and the job retried (the run resumes after its last committed batch).
 */
export const importQueue: QueueDefinition<ImportJobData> = {
  name: IMPORT_QUEUE,
  queue: { retryLimit: 4, retryDelay: 5, expireInSeconds: 6 * 3600, heartbeatSeconds: 30, notify: true },
  work: { batchSize: 1, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 },
  handler: async (services, jobs) => {
    for (const job of jobs) await services.restore.runJob(job.data);
  },
};

/**
 * Imported leads and contacts arrive without retention dates (never copied from a file): retention's own
 * recompute job gives them the dates of the current policy, enqueued with the import's final transaction and
 * tracked like any recompute (so `RetentionSettings.recomputing` is true meanwhile and its end is announced).
 */
export function retentionRecomputeAfterImport(recomputes: RetentionRecomputes): NonNullable<RestoreDeps['afterImport']> {
  return async (client, organizationId, modules) => {
    for (const module of RETENTION_MODULES.filter((m) => modules.includes(m))) {
      await recomputes.enqueue(client, organizationId, module);
    }
  };
}
