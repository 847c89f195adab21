import { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { Logger } from '../shared/logger.ts';

export const BOSS_SCHEMA = 'pgboss';

/**
 * pg-boss on the service's database. An api-only process still needs it (to enqueue), but neither supervises
 * queues nor runs cron: that is the workers' job, so api processes stay light. Workers LISTEN for pg-boss's
 * NOTIFY, so a job on a `notify` queue starts when its transaction commits, not at the next poll; polling stays
 * on as the backstop (and for jobs whose `startAfter` comes later).
 */
export function createBoss(connectionString: string, log: Logger, opts: { worker: boolean }): PgBoss {
  const boss = new PgBoss({
    connectionString,
    schema: BOSS_SCHEMA,
    application_name: 'crm-data-admin-jobs',
    max: opts.worker ? 6 : 2,
    supervise: opts.worker,
    schedule: opts.worker,
    useListenNotify: opts.worker,
  });
  boss.on('error', (err: Error) => log.error({ err: err.message }, 'job queue error'));
  return boss;
}

/** pg-boss's database adapter over a client inside our transaction: the job commits with the domain row. */
export function inTransaction(client: Pick<pg.PoolClient, 'query'>): { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> } {
  return {
    executeSql: async (text: string, values?: unknown[]) => {
      const result = await client.query(text, values as unknown[]);
      return { rows: result.rows };
    },
  };
}
