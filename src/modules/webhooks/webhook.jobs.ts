import type { Job } from 'pg-boss';
import type { QueueDefinition } from '../../jobs/registry.ts';
import { WEBHOOK_QUEUE, type WebhookJob } from './webhook-delivery.service.ts';

/**
 * One job per attempt. The backoff between attempts is the service's own (each attempt is a row of the
 * delivery log); pg-boss's retries only cover a worker that died mid-attempt (the attempt is then sent again).
 */
export const webhookQueue: QueueDefinition<WebhookJob> = {
  name: WEBHOOK_QUEUE,
  queue: { retryLimit: 2, retryDelay: 30, expireInSeconds: 120, notify: true },
  work: { batchSize: 1, localConcurrency: 4, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
  handler: async (services, jobs: Job<WebhookJob>[]) => {
    for (const job of jobs) await services.webhooks.delivery.deliver(job.data);
  },
};
