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

describe('the database the suite runs on', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase();
  });
  afterAll(async () => tdb.drop());

  // The embedded server is initialised with UTF8 whatever LANG says; SQL_ASCII would make string functions cut
  // multi-byte characters (masking, lengths).
  it('is UTF8, so string functions count characters, not bytes', async () => {
    const { rows } = await tdb.pool.query("select pg_encoding_to_char(encoding) as enc, left('Émile', 1) as first from pg_database where datname = current_database()");
    expect(rows[0]).toEqual({ enc: 'UTF8', first: 'É' });
  });
});
