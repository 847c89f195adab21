import type { Job, PgBoss, Queue, WorkOptions } from 'pg-boss';
import type { Services } from '../services.ts';

/** A queue: its policy, how workers take its jobs, the handler, and an optional cron schedule. */
export interface QueueDefinition<T extends object = object> {
  name: string;
  queue?: Omit<Queue, 'name'>;
  work?: WorkOptions;
  /** Runs a batch (pg-boss hands arrays); must be safe to run twice for the same job. */
  handler(services: Services, jobs: Job<T>[]): Promise<void>;
  /** Cron (UTC) on which pg-boss sends an empty job. */
  cron?: string;
}

/**
 * Every queue of the service. Features append their definitions in app.ts (`queues`), so this module stays
 * free of feature imports and the list lives in one visible place.
 */
export async function createQueues(boss: PgBoss, queues: QueueDefinition[]): Promise<void> {
  for (const def of queues) {
    await boss.createQueue(def.name, def.queue ?? {});
    // createQueue leaves an existing queue as it was: a database from before the wake-up gets it here.
    if (def.queue?.notify) await boss.updateQueue(def.name, { notify: true });
  }
}

export async function startWorkers(boss: PgBoss, services: Services, queues: QueueDefinition[]): Promise<void> {
  for (const def of queues) {
    await boss.work<object>(def.name, def.work ?? {}, (jobs: Job<object>[]) =>
      services.metrics.timeJob(def.name, jobs.length, () => def.handler(services, jobs)),
    );
    if (def.cron) await boss.schedule(def.name, def.cron, {}, { tz: 'UTC' });
  }
}
