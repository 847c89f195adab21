import pg from 'pg';
import { CopyOutQuery, type RowHandler } from './copy-out-query.ts';
import { BinaryCopyFraming } from './binary-copy.ts';
import { type ModuleName, moduleSelectSql, MODULE_SPECS } from './module-columns.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SnapshotReaderOptions {
  connectionString: string;
  organizationId: string;
  modules: readonly ModuleName[];
  applicationName?: string;
}

/**
 * One `REPEATABLE READ, READ ONLY` transaction: the snapshot is taken by its first statement, which also counts the
 * rows of every module, so the totals and every row copied later describe the same instant.
 */
export class SnapshotReader {
  readonly snapshotAt: Date;
  readonly totals: ReadonlyMap<ModuleName, number>;
  readonly #client: pg.Client;
  readonly #organizationId: string;

  private constructor(client: pg.Client, organizationId: string, snapshotAt: Date, totals: Map<ModuleName, number>) {
    this.#client = client;
    this.#organizationId = organizationId;
    this.snapshotAt = snapshotAt;
    this.totals = totals;
  }

  static async open(options: SnapshotReaderOptions): Promise<SnapshotReader> {
    // COPY takes no bind parameters: the id goes into the SQL, so it must be exactly a UUID.
    if (!UUID.test(options.organizationId)) throw new Error(`organizationId is not a UUID: ${options.organizationId}`);
    const client = new pg.Client({
      connectionString: options.connectionString,
      application_name: options.applicationName ?? 'crm-data-admin backup',
    });
    // A connection lost while idle would otherwise crash the process; the next query reports it instead.
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('begin isolation level repeatable read, read only');
      const { snapshotAt, totals } = await countRows(client, options.organizationId, options.modules);
      // float8 text must round-trip exactly on every server version (shortest-exact since PostgreSQL 12).
      await client.query('set local extra_float_digits = 3');
      return new SnapshotReader(client, options.organizationId, snapshotAt, totals);
    } catch (error) {
      await client.end();
      throw error;
    }
  }

  /**
   * Streams the module's rows in PostgreSQL's binary COPY format (one Buffer per row; see row-transcoder.ts) to
   * `onRow`, whose promise, if any, pauses the stream. Binary: the server sends values as stored instead of
   * printing them (40% less server CPU than CSV for contacts, measured). Resolves with the number of rows.
   */
  async copyRows(module: ModuleName, onRow: RowHandler): Promise<number> {
    const organization = `${this.#client.escapeLiteral(this.#organizationId)}::uuid`;
    const framing = new BinaryCopyFraming();
    let rows = 0;
    const query = new CopyOutQuery(`copy (${moduleSelectSql(module, organization)}) to stdout (format binary)`, (message) => {
      const row = framing.row(message);
      if (row === undefined) return undefined;
      rows += 1;
      return onRow(row);
    });
    void this.#client.query(query);
    await query.done;
    return rows;
  }

  /** Ends the (read-only) transaction and the connection. */
  async close(): Promise<void> {
    try {
      await this.#client.query('commit');
    } finally {
      await this.#client.end();
    }
  }

  /** Drops the connection at once (failure or abort): the server rolls the transaction back. */
  async destroy(): Promise<void> {
    await this.#client.end();
  }
}

async function countRows(
  client: pg.Client,
  organizationId: string,
  modules: readonly ModuleName[],
): Promise<{ snapshotAt: Date; totals: Map<ModuleName, number> }> {
  const counts = modules.map(
    (m, i) => `, (select count(*) from ${MODULE_SPECS[m].table} where organization_id = $1)::int8 as c${i}`,
  );
  const { rows } = await client.query<Record<string, string | number>>(
    `select (extract(epoch from statement_timestamp()) * 1000)::int8 as snapshot_ms${counts.join('')}`,
    [organizationId],
  );
  const row = rows[0] ?? {};
  const totals = new Map(modules.map((m, i) => [m, Number(row[`c${i}`])] as const));
  return { snapshotAt: new Date(Number(row.snapshot_ms)), totals };
}
