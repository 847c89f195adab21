import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createDatabase, type Database } from '../../src/db/client.ts';
import { adminQuery, databaseUrl } from '../../src/db/admin.ts';

export interface TestDatabase extends Database {
  /** Drops the database (after closing this pool). */
  drop(): Promise<void>;
}

/**
 * A fresh, fully migrated database of this test's own, cloned from the run's template (fast: a file copy).
 * Use in `beforeAll` and call `drop()` in `afterAll`.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const { adminUrl, template, runId } = inject('testDb');
  const name = `crm_test_${runId}_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `create database "${name}" template "${template}"`);
  const database = createDatabase(databaseUrl(adminUrl, name), { max: 10 });
  return {
    ...database,
    drop: async () => {
      await database.close();
      await adminQuery(adminUrl, `drop database if exists "${name}" with (force)`);
    },
  };
}
