import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

describe('test database', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase();
  });
  afterAll(async () => tdb.drop());

  it('is migrated', async () => {
    const { rows } = await tdb.pool.query("select to_regclass('public.contacts') as t");
    expect(rows[0].t).toBe('contacts');
  });
});
