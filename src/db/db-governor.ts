import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { OrganizationSlots } from './organization-slots.ts';
import { TimedQuery, type QueryArgs } from './timed-query.ts';

const { DatabaseError } = pg;

export interface DbGovernorOptions {
  /** Each statement of a governed operation is cancelled by PostgreSQL after this long; 0: no limit. */
  statementTimeoutMs: number;
  /** Database operations (a query, or a transaction from BEGIN to release) per organization at once. */
  concurrencyPerOrganization: number;
}

/** Set by the edge once it knows the viewer: until then (authentication) the request's work is not governed. */
export interface GovernedScope {
  organizationId?: string;
}

/** pg's `query`, whatever overload: text, values or a config object, and possibly a callback. */
type AnyQuery = (...args: unknown[]) => Promise<pg.QueryResult>;

/**
 * Limits on the database work of API requests, so one organization cannot hold the shared pool:
 * - every statement gets `statement_timeout`, set with SET LOCAL inside a transaction, never as a connection
 *   startup parameter or a session SET — PgBouncer in transaction mode refuses the first and would hand the
 *   second to other clients. A lone parameterized `pool.query` sends the setting and the statement in one round
 *   trip (timed-query.ts); one without parameters runs as BEGIN; SET LOCAL …; the query; COMMIT.
 * - each organization holds at most `concurrencyPerOrganization` pooled connections at once (per process).
 * The request's scope travels with its async work (AsyncLocalStorage), so services keep taking the one pool and
 * the same code runs ungoverned in jobs, the CLI and authentication.
 */
export class DbGovernor {
  private readonly scopes = new AsyncLocalStorage<GovernedScope>();
  readonly slots: OrganizationSlots;

  constructor(readonly options: DbGovernorOptions) {
    // Waiting for a slot is bounded like a statement; with no statement limit, by a minute.
    this.slots = new OrganizationSlots(options.concurrencyPerOrganization, options.statementTimeoutMs || 60_000);
  }

  /** Runs `fn` (a request's handling) in a scope whose `organizationId` the caller sets once it is known. */
  run<T>(scope: GovernedScope, fn: () => T): T {
    return this.scopes.run(scope, fn);
  }

  private organization(): string | undefined {
    return this.scopes.getStore()?.organizationId;
  }

  /** Makes `pool.query` and `pool.connect` obey the governed scope they are called in. */
  govern(pool: pg.Pool): void {
    const rawConnect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<pg.PoolClient>;
    const rawQuery = pool.query.bind(pool) as AnyQuery;
    const governedConnect = async (organizationId: string): Promise<pg.PoolClient> => {
      const release = await this.slots.acquire(organizationId);
      let client: pg.PoolClient;
      try {
        client = await rawConnect();
      } catch (error) {
        release();
        throw error;
      }
      return this.limited(client, release);
    };
    const connect = (...args: unknown[]): unknown => {
      const organizationId = this.organization();
      // Callback callers (pg-pool's own `query`, outside a scope) and ungoverned work take the plain path.
      if (organizationId === undefined || typeof args[0] === 'function') return rawConnect(...args);
      return governedConnect(organizationId);
    };
    const query = async (...args: unknown[]): Promise<pg.QueryResult> => {
      const organizationId = this.organization();
      if (organizationId === undefined || typeof args.at(-1) === 'function') return rawQuery(...args);
      const client = await governedConnect(organizationId);
      if (this.options.statementTimeoutMs === 0) {
        try {
          return await (client.query as AnyQuery)(...args);
        } finally {
          client.release();
        }
      }
      if (TimedQuery.fits(args)) return this.timed(client, args);
      let broken: Error | undefined;
      try {
        await client.query('begin');
        const result = await (client.query as AnyQuery)(...args);
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch((rollbackError: Error) => (broken = rollbackError));
        throw error;
      } finally {
        client.release(broken);
      }
    };
    Object.assign(pool, { connect, query });
  }

  /**
   * A parameterized statement (what drizzle and the repositories send) with its timeout in one round trip instead
   * of BEGIN / statement / COMMIT. A failed statement leaves the connection clean (its implicit transaction ends
   * at the Sync); only a connection-level failure, not an error PostgreSQL answered with, discards the client.
   */
  private async timed(client: pg.PoolClient, args: QueryArgs): Promise<pg.QueryResult> {
    let broken: Error | undefined;
    try {
      return await TimedQuery.run(client, args, this.options.statementTimeoutMs);
    } catch (error) {
      if (!(error instanceof DatabaseError)) broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * A checked-out client whose BEGIN also sets the statement timeout for its transaction, and whose release
   * gives the organization's slot back. The original methods return when the client goes back to the pool.
   */
  private limited(client: pg.PoolClient, releaseSlot: () => void): pg.PoolClient {
    const { statementTimeoutMs } = this.options;
    const originalQuery = client.query;
    const send = originalQuery.bind(client) as AnyQuery;
    const originalRelease = client.release;
    const withTimeout = (text: string) => `${text}; set local statement_timeout = ${statementTimeoutMs}`;
    const query = (...args: unknown[]) => {
      const [first] = args;
      if (statementTimeoutMs > 0 && typeof first === 'string' && args.length === 1 && BEGIN.test(first)) {
        return send(withTimeout(first));
      }
      const config = first as { text?: unknown; values?: unknown[] } | undefined;
      const values = config?.values ?? args[1];
      const plain = !Array.isArray(values) || values.length === 0;
      if (statementTimeoutMs > 0 && typeof config?.text === 'string' && BEGIN.test(config.text) && plain) {
        return send({ ...config, text: withTimeout(config.text) }, ...args.slice(1));
      }
      return send(...args);
    };
    Object.assign(client, {
      query,
      release: (error?: Error | boolean) => {
        Object.assign(client, { query: originalQuery, release: originalRelease });
        releaseSlot();
        return originalRelease.call(client, error);
      },
    });
    return client;
  }
}

/** A transaction's first statement, as withTransaction and drizzle send it (possibly with `; set local …`). */
const BEGIN = /^\s*begin\b[^;]*(;\s*set local [a-z_]+ = [a-z0-9_]+\s*)*$/i;
