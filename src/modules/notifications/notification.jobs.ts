import type { Job } from 'pg-boss';
import type { QueueDefinition } from '../../jobs/registry.ts';
import { EMAIL_QUEUE, type EmailJob } from './email.service.ts';
import { NOTIFICATION_RETENTION_DAYS } from './notification.service.ts';

/** Webhook deliveries are kept this long (API.md §6). */
export const WEBHOOK_DELIVERY_RETENTION_DAYS = 30;

/** SMTP hiccups are retried with backoff (5 s, 10 s, 20 s… about 5 minutes in all). */
export const emailQueue: QueueDefinition<EmailJob> = {
  name: EMAIL_QUEUE,
  queue: { retryLimit: 6, retryDelay: 5, retryBackoff: true, expireInSeconds: 120, notify: true },
  work: { batchSize: 1, localConcurrency: 2, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 },
  handler: async (services, jobs: Job<EmailJob>[]) => {
    // Without SMTP_URL no email job is ever enqueued; one left from a run that had it is dropped quietly.
    if (!services.email) return;
    for (const job of jobs) await services.email.send(job.data);
  },
};

export const NOTIFICATION_PRUNE_QUEUE = 'notifications-prune';

/** Daily, in one worker: notifications older than 90 days, webhook deliveries older than 30. */
export const notificationPruneQueue: QueueDefinition = {
  name: NOTIFICATION_PRUNE_QUEUE,
  queue: { policy: 'singleton', retryLimit: 2, expireInSeconds: 1800 },
  cron: '17 3 * * *',
  handler: async (services) => {
    const now = services.clock.now().getTime();
    const daysAgo = (days: number) => new Date(now - days * 24 * 3600 * 1000);
    const notifications = await services.notifications.prune(daysAgo(NOTIFICATION_RETENTION_DAYS));
    const deliveries = await services.webhooks.delivery.prune(daysAgo(WEBHOOK_DELIVERY_RETENTION_DAYS));
    if (notifications + deliveries > 0) services.log.info({ notifications, deliveries }, 'pruned old notifications and webhook deliveries');
  },
};

export const NOTIFICATION_QUEUES: QueueDefinition[] = [emailQueue as QueueDefinition, notificationPruneQueue];
