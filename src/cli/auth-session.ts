import { createDatabase } from '../db/client.ts';
import { runMigrations } from '../db/migrate.ts';
import { AuthService } from '../modules/auth/auth.service.ts';
import type { CommandContext } from './command.ts';

/**
 * Organizations, users and tokens need the auth tables only: no job queue, no event listener, no GraphQL
 * schema — booting the whole app for them made each such command cost seconds of start-up.
 */
export async function withAuth<T>(ctx: CommandContext, fn: (auth: AuthService) => Promise<T>): Promise<T> {
  const database = createDatabase(ctx.databaseUrl, { max: 2, applicationName: 'crm-data-admin-cli' });
  try {
    await runMigrations(database.pool, ctx.databaseDirectUrl);
    return await fn(new AuthService(database.pool, database.db));
  } finally {
    await database.close();
  }
}
