import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import type { PgBoss } from 'pg-boss';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BOSS_SCHEMA, createBoss } from '../../src/jobs/boss.ts';
import { BACKUP_QUEUE } from '../../src/modules/backup/backup-state-machine.ts';
import { RETENTION_SWEEP_QUEUE } from '../../src/modules/retention/retention.jobs.ts';
import { backupRow, eventually, seedRecords, tempStorageDir } from '../support/backup-helpers.ts';
import { ensureBuilt } from '../support/compiled-build.ts';
import { scrape, valueOf } from '../support/metrics-helpers.ts';
import { csvOf, upload, IMPORT_JOB_FIELDS, type ImportJobView } from '../support/restore-helpers.ts';
import { holdLock } from '../support/lock-holder.ts';
import { applyPolicy, insertContacts } from '../support/retention-helpers.ts';
import { hasOpenFile, runCompiledCli, startServiceProcess, stopServiceProcess, type ServiceProcess } from '../support/service-process.ts';
import { codeOf, postGraphQL, subscribe } from '../support/test-app.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const SECRET = 'multi-process-secret-0123456789abcdef0123';
type BackupEventMsg = { backupEvents: { kind: string; backup: { id: string; status: string } } };

/*
 * Scale-out, proven with real processes: two `serve --role api` and two `serve --role worker` of the compiled
 * build on one database and one storage folder. Nothing runs in this test process but clients, one pg-boss
 * handle (to run pg-boss's supervisor pass on demand, as its 60 s timer would) and SQL to check outcomes.
 */
describe('two api and two worker processes on one database', { timeout: 240_000 }, () => {
  let db: TestDatabase;
  let storage: string;
  let apiA: ServiceProcess;
  let apiB: ServiceProcess;
  let workers: ServiceProcess[] = [];
  let boss: PgBoss;
  let organizationId: string;
  let admin: string;
  let standard: string;
  const clients: Client[] = [];
  const env = () => ({ DATABASE_URL: db.url, APP_SECRET: SECRET, STORAGE_DIR: storage, DATA_DIR: storage, RATE_LIMIT_PER_MINUTE: '0' });
  const gqlA = <T>(token: string | null, query: string, variables?: Record<string, unknown>) => postGraphQL<T>(apiA.url, token, query, variables);
  const gqlB = <T>(token: string | null, query: string, variables?: Record<string, unknown>) => postGraphQL<T>(apiB.url, token, query, variables);

  beforeAll(async () => {
    [db, storage] = await Promise.all([createTestDatabase(), tempStorageDir(), ensureBuilt()]);
    const t0 = Date.now();
    // The first api on an empty database creates the demo organization and prints its tokens; the second api
    // starts after it (else both would), the workers alongside.
    const apis = startServiceProcess('api', env()).then(async (a) => [a, await startServiceProcess('api', env())] as const);
    [[apiA, apiB], ...workers] = await Promise.all([apis, startServiceProcess('worker', env()), startServiceProcess('worker', env())]);
    console.log(`2 api + 2 worker processes started in ${Date.now() - t0} ms`);
    admin = /ADMIN token: (\S+)/.exec(apiA.stdout())![1]!;
    standard = /STANDARD token: (\S+)/.exec(apiA.stdout())![1]!;
    organizationId = (await db.pool.query<{ id: string }>('select id from organizations')).rows[0]!.id;
    boss = createBoss({ url: db.url }, pino({ level: 'silent' }), { worker: false });
    await boss.start();
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await Promise.all([apiA, apiB, ...workers].map((p) => stopServiceProcess(p)));
    await boss?.stop({ graceful: false });
    await db?.drop();
  }, 60_000);

  it('a subscriber on api A sees a backup started through api B run to COMPLETED by a worker', async () => {
    const client = createClient({
      url: `${apiA.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${admin}` },
      retryAttempts: 0,
    });
    clients.push(client);
    const events = subscribe<BackupEventMsg>(client, 'subscription { backupEvents { kind backup { id status } } }');
    // Live once api A counts the operation (its /metrics), so no event can be missed.
    await eventually(async () => valueOf((await scrape(apiA.url)).samples, 'crm_data_admin_websocket_operations_active') === 1, 'the subscription on api A');

    const started = await gqlB<{ startManualBackup: { id: string } }>(admin, 'mutation { startManualBackup { id } }');
    expect(started.errors).toBeUndefined();
    const id = started.data!.startManualBackup.id;
    await events.waitFor((e) => e.backupEvents.backup.id === id && e.backupEvents.kind === 'COMPLETED', 40_000);
    const kinds = events.events.filter((e) => e.backupEvents.backup.id === id).map((e) => e.backupEvents.kind);
    expect(kinds[0]).toBe('PENDING');
    expect(kinds).toContain('STARTED');
    expect(kinds).toContain('PROGRESS');
    expect(kinds.at(-1)).toBe('COMPLETED');
    expect(kinds.indexOf('STARTED')).toBeLessThan(kinds.indexOf('PROGRESS'));
    expect(await backupRow(db.pool, id)).toMatchObject({ status: 'COMPLETED', attempts: 1 });
  });

  it('a token revoked in one process is refused by both apis within 1 s', async () => {
    const viewer = '{ viewer { id } }';
    // Both apis have authenticated it (and hold it in their token caches).
    for (const gql of [gqlA, gqlB]) expect((await gql(standard, viewer)).errors).toBeUndefined();
    const revoked = await runCompiledCli(['token', 'revoke', '--token', standard], { DATABASE_URL: db.url, APP_SECRET: SECRET });
    expect(revoked).toMatchObject({ code: 0 });
    expect(JSON.parse(revoked.stdout)).toEqual({ revoked: true });
    const since = Date.now();
    const refusedAfter = await Promise.all(
      [gqlA, gqlB].map((gql) =>
        eventually(async () => codeOf(await gql(standard, viewer)) === 'UNAUTHENTICATED' && Date.now() - since, 'the revoked token to be refused', 5_000),
      ),
    );
    console.log(`revoked token refused by api A after ${refusedAfter[0]} ms, by api B after ${refusedAfter[1]} ms`);
    expect(Math.max(...refusedAfter)).toBeLessThan(1_000);
    expect((await gqlB(admin, viewer)).errors).toBeUndefined(); // the other tokens still work
  });

  it('a client sending an oversized WebSocket message gets 1009 and leaves one warning line, no stack trace, in the log', async () => {
    const before = apiA.stderr().length;
    const socket = new WebSocket(`${apiA.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    socket.on('error', () => undefined); // the write cut short by the server's close
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${'x'.repeat(2 << 20)}` } }));
    expect(await closed).toBe(1009);
    await eventually(async () => apiA.stderr().slice(before).includes('protocol error'), 'the warning line');
    const logged = apiA.stderr().slice(before);
    expect(logged).toMatch(/"level":40,.*"code":"WS_ERR_UNSUPPORTED_MESSAGE_LENGTH".*WebSocket closed on a protocol error/);
    expect(logged).not.toMatch(/Internal error emitted|at Receiver|xxxxxxxx/);
    expect((await fetch(`${apiA.url}/healthz`)).status).toBe(200);
  });

  it('a retention sweep and two imports, run at once by both workers and the CLI, process each record once', async () => {
    const OLD = 5_000; // several sweep batches (2,000 each), so concurrent sweeps interleave
    const IMPORTED = 1_500;
    const old = new Date(Date.now() - 3 * 365 * 24 * 3600_000).toISOString();
    await insertContacts(db.pool, organizationId, Array.from({ length: OLD }, () => ({ createdAt: old })));
    // The sweep's schedule is the workers' cron; a sweep of its own (5-minutely) may join in: as good as another.
    await applyPolicy(gqlA, db.pool, admin, {
      module: 'CONTACTS',
      basis: 'CREATED_AT',
      retentionPeriod: { value: 1, unit: 'YEARS' },
      action: 'MASK',
      actionPeriod: { value: 10, unit: 'YEARS' },
    });
    // Due now: the old contacts, and the demo data's older ones.
    const DUE = await count(
      `select count(*)::int as n from contacts where organization_id = $1 and retention_state = 'ACTIVE' and retention_ends_at <= now()
         and (deletes_at is null or deletes_at > now()) and not legal_hold`,
    );
    expect(DUE).toBeGreaterThanOrEqual(OLD);
    const leadsBefore = await count('select count(*)::int as n from leads where organization_id = $1');
    const files = [0, 1].map((f) =>
      Array.from({ length: IMPORTED }, (_, i) => ({ id: randomUUID(), firstName: `Imported${f}-${i}`, lastName: 'Lead', email: `i${f}-${i}@example.com`, status: 'NEW', legalHold: false })),
    );

    // All at once. Both sweeps (a job on a worker, and the CLI in a process of its own) are held at their first
    // batch by a lock on the organization's retention settings, then let go together while one import uploaded to
    // each api runs on the workers.
    const holder = await holdLock(db.url, (c) => c.query('select 1 from retention_settings where organization_id = $1 for update', [organizationId]));
    const sweeping = runCompiledCli(['retention', 'sweep', '--org', organizationId], { DATABASE_URL: db.url, APP_SECRET: SECRET });
    try {
      await boss.send(RETENTION_SWEEP_QUEUE, {});
      await holder.waiters(2, 60_000);
    } finally {
      await holder.release();
    }
    const uploads = await Promise.all(
      [apiA, apiB].map((api, f) => upload(api.url, admin, { file: { data: csvOf('LEADS', files[f]!), name: 'leads.csv' }, module: 'LEADS' })),
    );
    const cli = await sweeping;
    expect(cli.code).toBe(0);
    const jobs = await Promise.all(uploads.map((u) => waitForImport(u.body.importId!)));
    await eventually(
      async () => (await count(`select count(*)::int as n from ${BOSS_SCHEMA}.job where name = $1 and state not in ('completed', 'failed')`, [RETENTION_SWEEP_QUEUE])) === 0,
      'the sweep job',
      60_000,
    );

    // Each contact masked once: every due one is MASKED, one vault entry each, and the batches of all sweeps add up.
    expect(await count(`select count(*)::int as n from contacts where organization_id = $1 and retention_state = 'MASKED'`)).toBe(DUE);
    expect(await count('select count(*)::int as n from retention_vault where organization_id = $1')).toBe(DUE);
    const batches = await db.pool.query<{ pass: string; n: number; batches: number }>(
      `select data->>'pass' as pass, sum((data->>'count')::int)::int as n, count(*)::int as batches from activity_events
        where organization_id = $1 and kind = 'retention.sweep_batch' group by 1`,
      [organizationId],
    );
    expect(batches.rows.map(({ pass, n }) => ({ pass, n }))).toEqual([{ pass: 'MASK', n: DUE }]);
    const byCli = (JSON.parse(cli.stdout) as { masked: number }).masked;
    expect(byCli).toBeLessThanOrEqual(DUE);
    console.log(`${DUE} contacts masked once each: ${byCli} by the CLI's sweep, the rest by the sweep job on a worker`);
    // Each imported row written once: created, never updated by a second run, and in the table exactly once.
    for (const job of jobs) expect(job).toMatchObject({ status: 'COMPLETED', processedRows: IMPORTED, created: IMPORTED, updated: 0, failed: 0 });
    expect(await count('select count(*)::int as n from leads where organization_id = $1')).toBe(leadsBefore + 2 * IMPORTED);
    expect(await count(`select count(distinct first_name)::int as n from leads where organization_id = $1 and first_name like 'Imported%'`)).toBe(2 * IMPORTED);
  });

  it('a worker killed mid-backup: the other worker completes it, with exactly one archive', async () => {
    await seedRecords(db.pool, organizationId, { leads: 12_000, contacts: 12_000, accounts: 1_000, deals: 2_000 });
    const started = await gqlB<{ startManualBackup: { id: string } }>(admin, 'mutation { startManualBackup { id } }');
    const id = started.data!.startManualBackup.id;
    const orgDir = path.join(storage, organizationId);

    // The worker that runs it is the one holding its archive open (`<id>-1.zip.*.part`, written as it goes).
    const running = await eventually(async () => {
      for (const w of workers) if (await hasOpenFile(w.child.pid!, (f) => f.startsWith(path.join(orgDir, `${id}-1.zip.`)))) return w;
      return undefined;
    }, 'a worker writing the archive', 30_000);
    const survivor = workers.find((w) => w !== running)!;
    running.child.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((resolve) => running.child.once('exit', resolve));
    expect(await backupRow(db.pool, id)).toMatchObject({ status: 'RUNNING', attempts: 1, storageKey: null });

    // pg-boss fails a job whose heartbeat (15 s) stopped at its supervisor's next pass (every 60 s, in the
    // workers); this handle asks for passes now, as the crash tests do. The retry is the survivor's to take.
    await eventually(async () => {
      await db.pool.query(`update ${BOSS_SCHEMA}.queue set monitor_claim_on = null, monitor_on = null where name = $1`, [BACKUP_QUEUE]);
      await boss.supervise(BACKUP_QUEUE);
      const row = await backupRow(db.pool, id);
      return row.attempts >= 2 || row.status !== 'RUNNING';
    }, 'the job to be retried', 60_000);
    const done = await eventually(async () => {
      const row = await backupRow(db.pool, id);
      return row.status === 'RUNNING' ? undefined : row;
    }, 'the retried backup to finish', 60_000);
    const tookMs = Date.now() - killedAt;
    console.log(`surviving worker completed the killed backup ${tookMs} ms after the SIGKILL`);
    expect(survivor.child.exitCode).toBeNull();
    expect(done).toMatchObject({ status: 'COMPLETED', attempts: 2, storageKey: `${organizationId}/${id}-2.zip` });
    expect(tookMs).toBeLessThan(60_000);

    // Exactly one archive of this backup in the store (the dead attempt's part file is gone), and it is whole.
    const listing = await fs.readdir(orgDir);
    expect(listing.filter((f) => f.startsWith(id))).toEqual([`${id}-2.zip`]);
    expect(listing.filter((f) => f.endsWith('.part'))).toEqual([]);
    const bytes = await fs.readFile(path.join(storage, done.storageKey!));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.sha256);
    expect(done.modules.find((m) => m.module === 'CONTACTS')?.recordCount).toBe(200 + 5_000 + 12_000);
  });

  async function count(sql: string, params: unknown[] = [organizationId]): Promise<number> {
    return (await db.pool.query<{ n: number }>(sql, params)).rows[0]!.n;
  }

  async function waitForImport(importId: string): Promise<ImportJobView> {
    return eventually(async () => {
      const res = await gqlA<{ importJob: ImportJobView | null }>(admin, `query($id: ID!) { importJob(id: $id) { ${IMPORT_JOB_FIELDS} } }`, { id: importId });
      const job = res.data?.importJob;
      return job && ['COMPLETED', 'FAILED'].includes(job.status) ? job : undefined;
    }, `import ${importId}`, 60_000);
  }
});
