import { randomBytes, randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminQuery, databaseUrl } from '../../src/db/admin.ts';
import { MIGRATIONS_DIR, runMigrations } from '../../src/db/migrate.ts';

// Found by its name, not its number: the integrator may re-sequence migrations from several branches.
const NAME = '_org-scoped-ids';
const TABLES = ['users', 'accounts', 'contacts', 'deals', 'leads', 'retention_vault', 'tombstones'];

/**
 * The org-scoped-ids migration turns the record keys into (organization_id, id) in place: a database migrated up to the migration before
 * it, holding records of two organizations that reference each other, keeps every row as it was.
 */
describe('migration *_org-scoped-ids on a database with data', () => {
  const { adminUrl, runId } = inject('testDb');
  const name = `crm_test_${runId}_${randomBytes(4).toString('hex')}`;
  let pool: pg.Pool;
  let before: string;
  beforeAll(async () => {
    before = await mkdtemp(path.join(os.tmpdir(), 'migrations-before-'));
    await cp(MIGRATIONS_DIR, before, { recursive: true });
    const journalFile = path.join(before, 'meta/_journal.json');
    const journal = JSON.parse(await readFile(journalFile, 'utf8')) as { entries: { tag: string }[] };
    const at = journal.entries.findIndex((e) => e.tag.endsWith(NAME));
    expect(at).toBeGreaterThan(0);
    const removed = new Set(journal.entries.slice(at).map((e) => e.tag));
    journal.entries = journal.entries.slice(0, at);
    await writeFile(journalFile, JSON.stringify(journal));
    for (const file of await readdir(before)) if (removed.has(file.replace(/\.sql$/, ''))) await rm(path.join(before, file));
    await adminQuery(adminUrl, `create database "${name}"`);
    pool = new pg.Pool({ connectionString: databaseUrl(adminUrl, name), max: 2 });
    await migrate(drizzle(pool), { migrationsFolder: before });
  });
  afterAll(async () => {
    await pool.end();
    await adminQuery(adminUrl, `drop database if exists "${name}" with (force)`);
    await rm(before, { recursive: true, force: true });
  });

  const snapshot = async (): Promise<Record<string, unknown[]>> => {
    const out: Record<string, unknown[]> = {};
    for (const table of TABLES) out[table] = (await pool.query(`select to_jsonb(t) as row from ${table} t order by to_jsonb(t)::text`)).rows;
    return out;
  };

  it('keeps every row, then holds the same id in two organizations and keeps references inside one', async () => {
    const orgs = [randomUUID(), randomUUID()];
    for (const [i, org] of orgs.entries()) {
      await pool.query(`insert into organizations (id, name) values ($1, $2)`, [org, `Org ${i}`]);
      const user = (await pool.query<{ id: string }>(`insert into users (organization_id, email, role) values ($1, 'a@example.com', 'ADMIN') returning id`, [org])).rows[0]!.id;
      const account = (await pool.query<{ id: string }>(`insert into accounts (organization_id, owner_id, name) values ($1, $2, 'Acme') returning id`, [org, user])).rows[0]!.id;
      const contact = (
        await pool.query<{ id: string }>(
          `insert into contacts (organization_id, owner_id, first_name, account_id, retention_ends_at, retention_source) values ($1, $2, 'Ann', $3, now(), 'POLICY') returning id`,
          [org, user, account],
        )
      ).rows[0]!.id;
      await pool.query(`insert into deals (organization_id, owner_id, name, amount, account_id, contact_id) values ($1, $2, 'Deal', 10, $3, $4)`, [org, user, account, contact]);
      await pool.query(`insert into leads (organization_id, owner_id, first_name, legal_hold) values ($1, $2, 'Lee', true)`, [org, user]);
      await pool.query(`insert into retention_vault (organization_id, module, record_id, ciphertext) values ($1, 'CONTACTS', $2, '\\x01')`, [org, contact]);
      await pool.query(`insert into tombstones (organization_id, module, record_id, reason) values ($1, 'LEADS', $2, 'retention')`, [org, randomUUID()]);
    }
    const rows = await snapshot();

    const direct = new pg.Pool({ connectionString: databaseUrl(adminUrl, name), max: 1 });
    try {
      await runMigrations(direct);
    } finally {
      await direct.end();
    }
    expect(await snapshot()).toEqual(rows);

    const keys = await pool.query<{ table: string; def: string }>(
      `select conrelid::regclass::text as table, pg_get_constraintdef(oid) as def from pg_constraint
        where contype in ('p', 'f') and conrelid::regclass::text in ('accounts', 'contacts', 'deals', 'leads')
          and pg_get_constraintdef(oid) not like '%REFERENCES organizations(id)%'
        order by 1, 2`,
    );
    expect(keys.rows).toEqual([
      { table: 'accounts', def: 'FOREIGN KEY (organization_id, owner_id) REFERENCES users(organization_id, id) ON DELETE SET NULL (owner_id)' },
      { table: 'accounts', def: 'PRIMARY KEY (organization_id, id)' },
      { table: 'contacts', def: 'FOREIGN KEY (organization_id, account_id) REFERENCES accounts(organization_id, id) ON DELETE SET NULL (account_id)' },
      { table: 'contacts', def: 'FOREIGN KEY (organization_id, owner_id) REFERENCES users(organization_id, id) ON DELETE SET NULL (owner_id)' },
      { table: 'contacts', def: 'PRIMARY KEY (organization_id, id)' },
      { table: 'deals', def: 'FOREIGN KEY (organization_id, account_id) REFERENCES accounts(organization_id, id) ON DELETE SET NULL (account_id)' },
      { table: 'deals', def: 'FOREIGN KEY (organization_id, contact_id) REFERENCES contacts(organization_id, id) ON DELETE SET NULL (contact_id)' },
      { table: 'deals', def: 'FOREIGN KEY (organization_id, owner_id) REFERENCES users(organization_id, id) ON DELETE SET NULL (owner_id)' },
      { table: 'deals', def: 'PRIMARY KEY (organization_id, id)' },
      { table: 'leads', def: 'FOREIGN KEY (organization_id, owner_id) REFERENCES users(organization_id, id) ON DELETE SET NULL (owner_id)' },
      { table: 'leads', def: 'PRIMARY KEY (organization_id, id)' },
    ]);

    const accountOf = async (org: string) => (await pool.query<{ id: string }>(`select id from accounts where organization_id = $1`, [org])).rows[0]!.id;
    const [first, second] = [await accountOf(orgs[0]!), await accountOf(orgs[1]!)];
    const cross = pool.query(`update contacts set account_id = $2 where organization_id = $1`, [orgs[0], second]);
    await expect(cross).rejects.toMatchObject({ code: '23503', constraint: 'contacts_account_id_fk' });
    // The first organization's account id becomes a record of the second one too, referenced there.
    await pool.query(`insert into accounts (organization_id, id, name) values ($1, $2, 'Same id')`, [orgs[1], first]);
    await pool.query(`update contacts set account_id = $2 where organization_id = $1`, [orgs[1], first]);
    await pool.query(`delete from accounts where organization_id = $1 and id = $2`, [orgs[0], first]);
    const refs = await pool.query(`select organization_id, account_id is null as cleared from contacts order by organization_id = $1 desc`, [orgs[0]]);
    expect(refs.rows).toEqual([
      { organization_id: orgs[0], cleared: true },
      { organization_id: orgs[1], cleared: false },
    ]);
  });
});
