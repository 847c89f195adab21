import { PgBoss } from 'pg-boss';
// pg-boss's own pool-based adapter (not re-exported by the package): extended below only to move its LISTEN
// connection, so pooling, transactions and shutdown stay exactly pg-boss's.
import PgBossDb from 'pg-boss/dist/db.js';
import type pg from 'pg';
import type { Logger } from '../shared/logger.ts';

export const BOSS_SCHEMA = 'pgboss';
const APPLICATION_NAME = 'crm-data-admin-jobs';

export interface BossConnection {
  /** Every pg-boss statement; may be PgBouncer in transaction mode. */
  url: string;
  /** Session-mode URL for the workers' LISTEN connection (DATABASE_DIRECT_URL); default `url`. */
  listenUrl?: string;
}

/**
 * pg-boss on the service's database. An api-only process still needs it (to enqueue), but neither supervises
 * queues nor runs cron: that is the workers' job, so api processes stay light. Workers LISTEN for pg-boss's
 * NOTIFY, so a job on a `notify` queue starts when its transaction commits, not at the next poll; polling stays
 * on as the backstop (and for jobs whose `startAfter` comes later).
 */
export function createBoss(connection: BossConnection, log: Logger, opts: { worker: boolean }): PgBoss {
  const max = opts.worker ? 6 : 2;
  const listenUrl = connection.listenUrl ?? connection.url;
  // Through a transaction pooler LISTEN lands on a server connection that is then lent to other clients: pg-boss
  // would hear nothing (or another client's channel) and fall back to polling. Its listener goes direct instead.
  const db = opts.worker && listenUrl !== connection.url ? new DirectListenDb(connection.url, listenUrl, max) : undefined;
  const boss = new PgBoss({
    connectionString: connection.url,
    schema: BOSS_SCHEMA,
    application_name: APPLICATION_NAME,
    max,
    db,
    supervise: opts.worker,
    // A worker that dies mid-job goes quiet (15 s heartbeat); the supervisor notices at its next pass. pg-boss's
    // default 60 s passes would let a killed backup wait over a minute for another worker: 10 s keeps it well under.
    ...(opts.worker ? { superviseIntervalSeconds: 10, monitorIntervalSeconds: 10 } : {}),
    schedule: opts.worker,
    useListenNotify: opts.worker,
  });
  boss.on('error', (err: Error) => log.error({ err: err.message }, 'job queue error'));
  boss.on('warning', (warning: { message: string }) => log.warn({ warning: warning.message }, 'job queue warning'));
  return boss;
}

/** pg-boss's adapter with its dedicated LISTEN connection on another URL (a session-mode one). */
class DirectListenDb extends PgBossDb {
  // Only its `listen` is used: that opens a client of its own; the pool it also owns stays empty.
  readonly #listenDb: PgBossDb;

  constructor(url: string, listenUrl: string, max: number) {
    super({ connectionString: url, application_name: APPLICATION_NAME, max });
    this.#listenDb = new PgBossDb({ connectionString: listenUrl, application_name: `${APPLICATION_NAME}-listen`, max: 1 });
    this.#listenDb.on('error', (error: Error) => this.emit('error', error));
  }

  override async open(): Promise<void> {
    await super.open();
    await this.#listenDb.open();
  }

  override async close(): Promise<void> {
    await this.#listenDb.close();
    await super.close();
  }

  override listen(...args: Parameters<PgBossDb['listen']>): ReturnType<PgBossDb['listen']> {
    return this.#listenDb.listen(...args);
  }
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
