import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimedQuery } from '../../src/db/timed-query.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/** The governor's one-round-trip statement (db-governor.ts): its timeout holds for it alone, whatever happens. */
describe('TimedQuery', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  let client: pg.PoolClient;
  const notices: string[] = [];
  beforeAll(async () => {
    tdb = await createTestDatabase();
    pool = new pg.Pool({ connectionString: tdb.url, max: 1 });
    client = await pool.connect();
    client.on('notice', (notice) => notices.push(notice.message ?? ''));
  });
  afterAll(async () => {
    client?.release();
    await pool?.end();
    await tdb?.drop();
  });

  /** The session's own setting and whether a transaction is left open, seen after a timed statement. */
  async function sessionState(): Promise<{ timeout: string; idle: boolean }> {
    const { rows } = await client.query<{ s: string }>("select current_setting('statement_timeout') as s");
    const open = await client.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where pid = pg_backend_pid() and backend_xid is not null');
    return { timeout: rows[0]!.s, idle: open.rows[0]!.n === 0 };
  }

  it('runs the statement under the timeout, returns only its rows, and leaves the session as it was', async () => {
    const result = await TimedQuery.run(client, ['select $1::int as a, current_setting($2) as t', [1, 'statement_timeout']], 1234);
    expect(result.rows).toEqual([{ a: 1, t: '1234ms' }]);
    expect(result.command).toBe('SELECT');
    expect(await sessionState()).toEqual({ timeout: '0', idle: true });
    expect(notices).toEqual([]); // set_config, not SET LOCAL: no "only in transaction blocks" WARNING per request
  });

  it('takes the config form with its options (rowMode) and values given beside it', async () => {
    const result = await TimedQuery.run(client, [{ text: 'select $1::text as x', rowMode: 'array' } as pg.QueryConfig, ['y']], 1000);
    expect(result.rows).toEqual([['y']]);
  });

  it('cancels a statement that runs past the timeout, and the connection answers again', async () => {
    const error = await TimedQuery.run(client, ['select pg_sleep($1::float8)', [5]], 200).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('57014');
    expect(await sessionState()).toEqual({ timeout: '0', idle: true });
  });

  it('rolls back a failed write: nothing of it stays, and the connection is usable', async () => {
    await client.query('create table if not exists timed_t (n int primary key)');
    const error = await TimedQuery.run(client, ['insert into timed_t values ($1), ($1)', [1]], 1000).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('23505');
    expect((await client.query('select count(*)::int as n from timed_t')).rows).toEqual([{ n: 0 }]);
    const bad = await TimedQuery.run(client, ['select $1::int', ['not a number']], 1000).catch((e: unknown) => e);
    expect((bad as { code?: string }).code).toBe('22P02');
    expect(await sessionState()).toEqual({ timeout: '0', idle: true });
  });

  it('takes only parameterized statements read whole', () => {
    expect(TimedQuery.fits(['select $1', [1]])).toBe(true);
    expect(TimedQuery.fits([{ text: 'select $1', values: [1] }])).toBe(true);
    expect(TimedQuery.fits(['select 1'])).toBe(false);
    expect(TimedQuery.fits(['select 1', []])).toBe(false);
    expect(TimedQuery.fits([{ text: 'select $1', values: [1], rows: 10 }])).toBe(false);
    expect(TimedQuery.fits([{ text: 'select $1', values: [1] }, [1], () => undefined])).toBe(false);
  });
});
