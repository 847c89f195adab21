import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle, loadMigrator } from './drizzle-orm.ts';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');
// Any constant works; it only has to be the same in every process that migrates this database.
const MIGRATION_LOCK = 7_201_771;

/**
 * Applies pending migrations. Several processes may start at once on one database (scale-out), so the
 * migration runs under an advisory lock: the first applies, the others wait and then find nothing to do.
 * Every CLI command and every start comes through here, nearly always with nothing to apply: that case is one
 * query, without the lock and without loading the migrator.
 *
 * The lock is a session lock, so lock, migration and unlock must share one server session: behind PgBouncer in
 * transaction mode each statement may land on another server connection (the unlock would miss, and the lock
 * would stay held by a pooled connection). `directUrl` (DATABASE_DIRECT_URL) gives that session; without it a
 * client of `pool` does.
 */
export async function runMigrations(pool: pg.Pool, directUrl?: string): Promise<void> {
  if (await migrationsApplied(pool)) return;
  const { migrate } = loadMigrator();
  const session = await openSession(pool, directUrl);
  try {
    await session.client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await migrate(drizzle(session.client), { migrationsFolder: MIGRATIONS_DIR });
    } finally {
      await session.client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await session.done();
  }
}

async function openSession(pool: pg.Pool, directUrl: string | undefined): Promise<{ client: pg.Client | pg.PoolClient; done(): Promise<void> }> {
  if (directUrl === undefined) {
    const client = await pool.connect();
    return { client, done: async () => client.release() };
  }
  const client = new pg.Client({ connectionString: directUrl, application_name: 'crm-data-admin-migrate' });
  client.on('error', () => undefined); // a lost connection fails the next query instead of crashing the process
  await client.connect();
  return { client, done: () => client.end() };
}

/** Readiness: every migration in migrations/ is recorded as applied. */
export async function migrationsApplied(pool: pg.Pool): Promise<boolean> {
  const journal = JSON.parse(await readFile(path.join(MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  try {
    const result = await pool.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations');
    return (result.rows[0]?.n ?? 0) >= journal.entries.length;
  } catch {
    return false;
  }
}
