import type { Job, JobWithMetadata } from 'pg-boss';
import type { QueueDefinition } from '../../jobs/registry.ts';
import { BACKUP_QUEUE, type BackupJobData } from './backup-state-machine.ts';

/** Retries after a crash or an error; each retry starts the archive afresh. */
export const BACKUP_RETRY_LIMIT = 3;

/**
 * Every backup runs as a job of this queue. A worker that dies stops sending heartbeats; pg-boss's supervisor
 * then fails the attempt and retries the job (after `retryDelay`), and the retry takes the RUNNING row over.
 * The heartbeat, not `expireInSeconds`, is what detects a dead worker, so a long backup is never cut short:
 * expiry is only a backstop for a handler that hangs while its process stays alive.
 */
export const backupQueue: QueueDefinition<BackupJobData> = {
  name: BACKUP_QUEUE,
  queue: {
    heartbeatSeconds: 15,
    expireInSeconds: 6 * 3600,
    retryLimit: BACKUP_RETRY_LIMIT,
    retryDelay: 1,
    // A monthly occurrence waits up to a month (+ downtime) in `created` before it may run.
    retentionSeconds: 62 * 24 * 3600,
    notify: true,
  },
  // NOTIFY starts a requested backup at once; the poll finds scheduled and busy-waiting ones when their time comes.
  work: { batchSize: 1, localConcurrency: 2, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1, includeMetadata: true },
  handler: async (services, jobs: Job<BackupJobData>[]) => {
    for (const job of jobs as JobWithMetadata<BackupJobData>[]) {
      const { id, data, retryCount, signal } = job;
      await services.backups.runner.run({ id, data, retryCount, retryLimit: job.retryLimit ?? BACKUP_RETRY_LIMIT, signal });
    }
  },
};

export const BACKUP_WATCHDOG_QUEUE = 'backup-watchdog';

/** Once a minute, in any one worker: no backup stays RUNNING without a live job, no PENDING one without a job. */
export const backupWatchdogQueue: QueueDefinition = {
  name: BACKUP_WATCHDOG_QUEUE,
  queue: { policy: 'singleton', retryLimit: 0, expireInSeconds: 300 },
  cron: '* * * * *',
  handler: async (services) => {
    const result = await services.backups.watchdog();
    if (result.failed + result.requeued > 0) services.log.warn(result, 'backup watchdog repaired backups');
  },
};

export const BACKUP_QUEUES: QueueDefinition[] = [backupQueue as QueueDefinition, backupWatchdogQueue];
