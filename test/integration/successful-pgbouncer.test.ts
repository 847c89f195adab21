import fs from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminQuery, databaseUrl } from '../../src/db/admin.ts';
import { DbGovernor } from '../../src/db/db-governor.ts';
import { migrationsApplied, runMigrations } from '../../src/db/migrate.ts';
import { tempStorageDir, type RunningApp } from '../support/backup-helpers.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { publishUntilReceived } from '../support/foundation-helpers.ts';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer.ts';
import { waitForImport } from '../support/restore-helpers.ts';
import { startTestApp, subscribe } from '../support/test-app.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

type NotificationMsg = { notificationAdded: { id: string; kind: string; backupId: string | null } };
type Contact = { id: string; firstName: string | null; lastName: string | null };

/*
 * DATABASE_URL on Debian's PgBouncer (1.18) in transaction pooling mode, DATABASE_DIRECT_URL on PostgreSQL itself:
 * one api and one worker process, as in docker-compose.yml. PgBouncer shares 4 server connections among all their
 * clients, so anything session-bound sent through it (a named prepared statement, LISTEN, a session lock) breaks.
 */
describe('behind PgBouncer in transaction pooling mode', () => {
  let bouncer: PgBouncer;
  let db: TestDatabase;
  let storage: string;
  let api: RunningApp;
  let worker: RunningApp;
  let org: TestOrg;
  beforeAll(async () => {
    bouncer = await startPgBouncer(inject('testDb').adminUrl, { poolSize: 4 });
    db = await createTestDatabase();
    storage = await tempStorageDir();
    const pooled = bouncer.pooledUrl(db.url);
    api = await startTestApp({ db, databaseUrl: pooled, role: 'api', env: { STORAGE_DIR: storage } });
    worker = await startTestApp({ db, databaseUrl: pooled, role: 'worker', env: { STORAGE_DIR: storage } });
    org = await createOrg(api.app);
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await db?.drop();
    await bouncer?.stop();
    if (storage) await fs.rm(storage, { recursive: true, force: true });
  });

  it('answers 50 concurrent GraphQL queries, each authenticated', async () => {
    const query = '{ viewer { id role } contacts(first: 5) { totalCount } }';
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => api.gql<{ viewer: { id: string; role: string } }>(org.admin.token, query)),
    );
    expect(answers.map((a) => a.errors ?? null)).toEqual(Array(50).fill(null));
    expect(new Set(answers.map((a) => a.data?.viewer.id))).toEqual(new Set([org.admin.userId]));
  });

  it('creates 5 contacts at once and reads every one back', async () => {
    const names = ['Ana', 'Bo', 'Chen', 'Dewi', 'Eko'];
    const created = await Promise.all(
      names.map((firstName) =>
        api.gql<{ createContact: Contact }>(org.admin.token, 'mutation($n: String) { createContact(input: { firstName: $n }) { id firstName } }', { n: firstName }),
      ),
    );
    expect(created.map((c) => c.errors ?? null)).toEqual(Array(5).fill(null));
    const read = await Promise.all(
      created.map((c) => api.gql<{ contact: Contact | null }>(org.standard.token, 'query($id: ID!) { contact(id: $id) { id firstName } }', { id: c.data!.createContact.id })),
    );
    expect(read.map((r) => r.errors ?? null)).toEqual(Array(5).fill(null));
    expect(read.map((r) => r.data?.contact?.firstName)).toEqual(names);
  });

  it('runs a backup on the worker, tells the subscriber on the api, and restores from it', async () => {
    const notes = subscribe<NotificationMsg>(api.ws(org.admin.token), 'subscription { notificationAdded { id kind backupId } }');
    // The subscription is live once a NOTIFY sent through the pooler reaches it (LISTEN is on the direct URL).
    const ping = () => api.app.services.notifications.notify([org.admin.userId], { organizationId: org.organizationId, kind: 'test.ping', title: 'ping' });
    await publishUntilReceived(() => notes.events.length, ping);

    const started = await api.gql<{ startManualBackup: { id: string } }>(org.admin.token, 'mutation { startManualBackup { id } }');
    const backupId = started.data!.startManualBackup.id;
    const done = await notes.waitFor((e) => e.notificationAdded.backupId === backupId, 30_000);
    expect(done.notificationAdded.kind).toBe('backup.completed');
    const backup = await api.gql<{ backup: { status: string; sizeBytes: number; modules: { module: string; recordCount: number }[] } }>(
      org.admin.token,
      'query($id: ID!) { backup(id: $id) { status sizeBytes modules { module recordCount } } }',
      { id: backupId },
    );
    expect(backup.data?.backup).toMatchObject({ status: 'COMPLETED' });
    expect(backup.data?.backup.modules).toContainEqual({ module: 'CONTACTS', recordCount: 5 });

    // A change made after the backup, which the restore must undo.
    const { rows } = await db.pool.query<{ id: string }>("select id from contacts where organization_id = $1 and first_name = 'Ana'", [org.organizationId]);
    const renamed = await api.gql(org.admin.token, 'mutation($id: ID!) { updateContact(id: $id, input: { firstName: "Changed" }) { id } }', { id: rows[0]!.id });
    expect(renamed.errors).toBeUndefined();
    const restore = await api.gql<{ restoreBackup: { id: string } }>(org.admin.token, 'mutation($id: ID!) { restoreBackup(id: $id) { id } }', { id: backupId });
    expect(restore.errors).toBeUndefined();
    const job = await waitForImport(api, org.admin.token, restore.data!.restoreBackup.id);
    expect(job).toMatchObject({ status: 'COMPLETED', failed: 0 });
    const contact = await api.gql<{ contact: Contact }>(org.admin.token, 'query($id: ID!) { contact(id: $id) { firstName } }', { id: rows[0]!.id });
    expect(contact.data?.contact.firstName).toBe('Ana');
  });

  it("times a governed statement out in its own round trip and leaves the timeout on no shared server connection", async () => {
    const pool = new pg.Pool({ connectionString: bouncer.pooledUrl(db.url), max: 6 });
    const governor = new DbGovernor({ statementTimeoutMs: 300, concurrencyPerOrganization: 6 });
    governor.govern(pool);
    const governed = <T,>(fn: () => Promise<T>) => governor.run({ organizationId: org.organizationId }, fn);
    try {
      const setting = await governed(() => pool.query<{ s: string }>('select current_setting($1) as s', ['statement_timeout']));
      expect(setting.rows[0]!.s).toBe('300ms');
      const slow = await governed(() => pool.query('select pg_sleep($1::float8)', [3])).catch((error: unknown) => error);
      expect((slow as { code?: string }).code).toBe('57014');
      // More clients than PgBouncer's 4 server connections, each holding one: every server connection is seen.
      const after = await Promise.all(
        Array.from({ length: 6 }, () => pool.query<{ s: string }>("select current_setting('statement_timeout') as s, pg_sleep(0.05)")),
      );
      expect(new Set(after.map((r) => r.rows[0]!.s))).toEqual(new Set(['0']));
      const again = await governed(() => pool.query<{ n: number }>('select $1::int as n', [7]));
      expect(again.rows).toEqual([{ n: 7 }]);
    } finally {
      await pool.end();
    }
  });

  it('keeps LISTEN on the direct connection and everything else on the pooler, with no refused startup parameter', async () => {
    const { rows } = await db.pool.query<{ name: string; n: number }>(
      `select application_name as name, count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name like '%listen' group by 1`,
    );
    // One event listener per process (api and worker) and the worker's pg-boss listener, all on PostgreSQL itself.
    expect(Object.fromEntries(rows.map((r) => [r.name, r.n]))).toEqual({ 'crm-data-admin-listen': 2, 'crm-data-admin-jobs-listen': 1 });
    // A query now, so the api's pool holds a client (node-postgres closes idle ones after 10 s).
    expect((await api.gql(org.admin.token, '{ viewer { id } }')).errors).toBeUndefined();
    const names = (await bouncer.clients()).filter((c) => c.database === new URL(db.url).pathname.slice(1)).map((c) => c.applicationName);
    expect(names).toContain('crm-data-admin-api'); // the app's queries really go through the pooler…
    expect(names).toContain('crm-data-admin-jobs');
    expect(names.filter((n) => n.endsWith('listen'))).toEqual([]); // …and no listener does
    expect(bouncer.log()).not.toMatch(/unsupported startup parameter/);
  });
});

describe('migrations started through PgBouncer by several processes at once', () => {
  let bouncer: PgBouncer;
  const name = `crm_test_${inject('testDb').runId}_pgb_migrate`;
  const direct = databaseUrl(inject('testDb').adminUrl, name);
  beforeAll(async () => {
    bouncer = await startPgBouncer(inject('testDb').adminUrl, { poolSize: 3 });
    await adminQuery(inject('testDb').adminUrl, `create database "${name}"`);
  });
  afterAll(async () => {
    await adminQuery(inject('testDb').adminUrl, `drop database if exists "${name}" with (force)`);
    await bouncer?.stop();
  });

  it('applies them once, under a session lock on the direct connection, and leaves no lock behind', async () => {
    const pools = Array.from({ length: 3 }, () => new pg.Pool({ connectionString: bouncer.pooledUrl(direct), max: 2 }));
    try {
      await Promise.all(pools.map((pool) => runMigrations(pool, direct)));
      expect(await migrationsApplied(pools[0]!)).toBe(true);
      const locks = await pools[0]!.query<{ n: number }>(
        "select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
      );
      expect(locks.rows[0]?.n).toBe(0);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });
});
