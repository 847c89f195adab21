import pg from 'pg';

/** The parts of pg's internal connection this query writes to (the same calls pg's own Query makes). */
interface ProtocolWriter {
  parse(message: { text: string; name?: string }): void;
  bind(message: { portal?: string; statement?: string; values?: unknown[] }): void;
  execute(message: { portal?: string; rows?: number }): void;
}

const SET_TIMEOUT = "select set_config('statement_timeout', $1, true)";

/** What pg's Query does inside (its published types leave it out): the hooks pg-cursor and pg-query-stream use too. */
interface QueryInternals {
  queryMode?: string;
  prepare(connection: ProtocolWriter): void;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: unknown): void;
}
type Callback = (error: Error | null, result: pg.QueryResult) => void;
const InternalQuery = pg.Query as unknown as new (config: pg.QueryConfig, values: undefined, callback: Callback) => QueryInternals;

/** A query's text and parameters, as pg's `query(text, values)` and `query({ text, values, … })` take them. */
export type QueryArgs = [text: string | pg.QueryConfig, values?: unknown[]];

/**
 * One parameterized statement with its own `statement_timeout`, in one round trip.
 *
 * The statement is sent, as pg always does, as Parse/Bind/Describe/Execute/Sync; in front of it, in the same
 * pipeline, goes `set_config('statement_timeout', …, true)` (SET LOCAL's function form: SET LOCAL itself would
 * log a "can only be used in transaction blocks" WARNING per request, though it works). Everything before a Sync
 * is one implicit transaction, so the setting holds for this statement only and ends with it (committed or
 * rolled back at the Sync), on this server connection only: nothing outlives the round trip, which is what
 * PgBouncer's transaction pooling needs (a session SET or a startup `options` would follow the server connection
 * to other clients, or be refused). PostgreSQL (re)starts the statement timer at the statement's first message,
 * with the value then in force.
 */
export class TimedQuery extends InternalQuery {
  private settingAcknowledged = false;

  constructor(
    args: QueryArgs,
    private readonly timeoutMs: number,
    callback: Callback,
  ) {
    // pg's normalizer writes the callback into a config object: give it a copy, never the caller's.
    const [text, values] = args;
    const config = typeof text === 'string' ? { text, values } : { ...text, values: values ?? text.values };
    super(config, undefined, callback);
    this.queryMode = 'extended';
  }

  /** Whether a query can go this way: a parameterized one, read whole (not a cursor's pages of rows). */
  static fits(args: unknown[]): args is QueryArgs {
    const [first, second] = args;
    if (typeof first === 'string') return Array.isArray(second) && second.length > 0;
    if (typeof first !== 'object' || first === null || args.length > 2) return false;
    const config = first as pg.QueryConfig & { rows?: unknown; submit?: unknown };
    const values = second ?? config.values;
    return typeof config.text === 'string' && Array.isArray(values) && values.length > 0 && !config.rows && !config.submit;
  }

  /** Runs it on a checked-out client. */
  static run(client: pg.PoolClient, args: QueryArgs, timeoutMs: number): Promise<pg.QueryResult> {
    return new Promise((resolve, reject) => {
      const query = new TimedQuery(args, timeoutMs, (error, result) => (error ? reject(error) : resolve(result)));
      client.query(query as unknown as pg.QueryConfig);
    });
  }

  override prepare(connection: ProtocolWriter): void {
    connection.parse({ text: SET_TIMEOUT, name: '' });
    connection.bind({ portal: '', statement: '', values: [String(Math.trunc(this.timeoutMs))] });
    connection.execute({ portal: '', rows: 0 });
    super.prepare(connection);
  }

  /** set_config's row and completion come first (undescribed); the statement's result is what the caller gets. */
  override handleDataRow(message: unknown): void {
    if (this.settingAcknowledged) super.handleDataRow(message);
  }

  override handleCommandComplete(message: unknown, connection: unknown): void {
    if (!this.settingAcknowledged) {
      this.settingAcknowledged = true;
      return;
    }
    super.handleCommandComplete(message, connection);
  }
}
