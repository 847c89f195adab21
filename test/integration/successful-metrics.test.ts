import { beforeAll, describe, expect, it } from 'vitest';
import { RETENTION_SWEEP_QUEUE } from '../../src/modules/retention/retention.jobs.ts';
import { eventually, seedRecords, waitForStatus } from '../support/backup-helpers.ts';
import { useOrgApp, type OrgApp } from '../support/org-app.ts';
import { applyPolicy, insertContacts, stopCronSweep } from '../support/retention-helpers.ts';
import { scrape, valueOf, type Sample } from '../support/metrics-helpers.ts';
import { subscribe } from '../support/test-app.ts';

const SEED = { leads: 30, contacts: 40, accounts: 5, deals: 10 };
const SEEDED = SEED.leads + SEED.contacts + SEED.accounts + SEED.deals;
const M = 'crm_data_admin_';

/** A counter's value, 0 while the series does not exist yet (prom-client shows labelled series once touched). */
const count = (samples: Sample[], name: string, labels: Record<string, string> = {}) => valueOf(samples, name, labels) ?? 0;

describe('GET /metrics on an api+worker process', () => {
  let ctx: OrgApp;
  useOrgApp({}, (ready) => (ctx = ready));
  beforeAll(async () => {
    await stopCronSweep(ctx.t.app);
    await seedRecords(ctx.t.app.services.pool, ctx.org.organizationId, SEED);
  });

  it('answers the Prometheus text format with the service, pool, queue and process metrics', async () => {
    const { status, contentType, body, samples } = await scrape(ctx.t.url);
    expect(status).toBe(200);
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    for (const [name, type] of [
      ['http_request_duration_seconds', 'histogram'],
      ['graphql_request_duration_seconds', 'histogram'],
      ['websocket_connections', 'gauge'],
      ['websocket_operations_active', 'gauge'],
      ['db_pool_connections', 'gauge'],
      ['job_queue_depth', 'gauge'],
      ['jobs_finished_total', 'counter'],
      ['backups_finished_total', 'counter'],
      ['backup_duration_seconds', 'histogram'],
      ['backup_records_per_second', 'histogram'],
      ['backup_archive_bytes', 'histogram'],
      ['retention_swept_records_total', 'counter'],
      ['import_rows_total', 'counter'],
    ]) {
      expect(body).toContain(`# TYPE ${M}${name} ${type}\n`);
    }
    expect(valueOf(samples, `${M}db_pool_connections`, { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, `${M}db_pool_connections`, { state: 'waiting' })).toBe(0);
    for (const state of ['created', 'retry', 'active']) {
      expect(valueOf(samples, `${M}job_queue_depth`, { queue: 'backup', state })).toBe(0);
    }
    // CPU time is counted from the collector's start (the first scrape), so it may still read 0 here.
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(valueOf(samples, 'process_start_time_seconds')).toBeGreaterThan(1_700_000_000);
    expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('moves the backup, job and GraphQL metrics when a backup completes', async () => {
    const before = (await scrape(ctx.t.url)).samples;
    const res = await ctx.t.gql<{ startManualBackup: { id: string } }>(ctx.org.admin.token, 'mutation { startManualBackup { id } }');
    const backupId = res.data!.startManualBackup.id;
    const row = await waitForStatus(ctx.t.app.services.pool, backupId, ['COMPLETED', 'FAILED']);
    expect(row.status).toBe('COMPLETED');
    // The job counts once its handler has returned, a moment after the row turned COMPLETED.
    const after = await eventually(async () => {
      const { samples } = await scrape(ctx.t.url);
      const jobs = count(samples, `${M}jobs_finished_total`, { queue: 'backup', outcome: 'completed' });
      return jobs > count(before, `${M}jobs_finished_total`, { queue: 'backup', outcome: 'completed' }) ? samples : undefined;
    }, 'the backup job to be counted');

    const moved = (name: string, labels: Record<string, string> = {}) => count(after, name, labels) - count(before, name, labels);
    expect(moved(`${M}backups_finished_total`, { outcome: 'completed' })).toBe(1);
    expect(moved(`${M}backups_finished_total`, { outcome: 'failed' })).toBe(0);
    expect(moved(`${M}backup_records_total`)).toBe(SEEDED);
    expect(moved(`${M}backup_duration_seconds_count`)).toBe(1);
    expect(moved(`${M}backup_duration_seconds_sum`)).toBeGreaterThan(0);
    expect(moved(`${M}backup_records_per_second_count`)).toBe(1);
    expect(moved(`${M}backup_archive_bytes_count`)).toBe(1);
    expect(moved(`${M}backup_archive_bytes_sum`)).toBe(Number(row.sizeBytes));
    expect(moved(`${M}job_duration_seconds_count`, { queue: 'backup' })).toBe(1);
    expect(moved(`${M}graphql_request_duration_seconds_count`, { operation_type: 'mutation', outcome: 'ok' })).toBe(1);
    expect(moved(`${M}http_request_duration_seconds_count`, { method: 'POST', route: '/graphql', status_code: '200' })).toBe(1);
  });

  it('counts imported rows by outcome, exactly as the import job reports them', async () => {
    const before = (await scrape(ctx.t.url)).samples;
    const { backups } = await ctx.t.app.services.backups.list(ctx.org.organizationId, { first: 1, status: ['COMPLETED'] }).then((c) => ({ backups: c.nodes }));
    const started = await ctx.t.gql<{ restoreBackup: { id: string } }>(ctx.org.admin.token, 'mutation($id: ID!) { restoreBackup(id: $id) { id } }', { id: backups[0]!.id });
    expect(started.errors).toBeUndefined();
    type Job = { status: string; created: number; updated: number; skipped: number; failed: number };
    const job = await eventually(async () => {
      const r = await ctx.t.gql<{ importJob: Job }>(ctx.org.admin.token, 'query($id: ID!) { importJob(id: $id) { status created updated skipped failed } }', { id: started.data!.restoreBackup.id });
      return r.data?.importJob.status === 'COMPLETED' || r.data?.importJob.status === 'FAILED' ? r.data.importJob : undefined;
    }, 'the restore to finish');
    expect(job.status).toBe('COMPLETED');
    const { samples } = await scrape(ctx.t.url);
    for (const outcome of ['created', 'updated', 'skipped', 'failed'] as const) {
      expect(count(samples, `${M}import_rows_total`, { outcome }) - count(before, `${M}import_rows_total`, { outcome })).toBe(job[outcome]);
    }
    expect(job.created + job.updated + job.skipped).toBe(SEEDED);
  });

  it('counts what a retention sweep masked', async () => {
    const ten = new Date(Date.now() - 10 * 365 * 86_400_000).toISOString();
    await insertContacts(ctx.t.app.services.pool, ctx.org.organizationId, [{ createdAt: ten }, { createdAt: ten }, { createdAt: ten }]);
    await applyPolicy(ctx.t.gql, ctx.t.app.services.pool, ctx.org.admin.token, {
      module: 'CONTACTS',
      basis: 'CREATED_AT',
      retentionPeriod: { value: 1, unit: 'YEARS' },
      action: 'MASK',
      actionPeriod: { value: 20, unit: 'YEARS' },
    });
    const before = (await scrape(ctx.t.url)).samples;
    await ctx.t.app.services.boss.send(RETENTION_SWEEP_QUEUE, {});
    const after = await eventually(async () => {
      const { samples } = await scrape(ctx.t.url);
      const done = count(samples, `${M}jobs_finished_total`, { queue: RETENTION_SWEEP_QUEUE, outcome: 'completed' });
      return done > count(before, `${M}jobs_finished_total`, { queue: RETENTION_SWEEP_QUEUE, outcome: 'completed' }) ? samples : undefined;
    }, 'the sweep job to be counted');
    const moved = (action: string) =>
      count(after, `${M}retention_swept_records_total`, { action }) - count(before, `${M}retention_swept_records_total`, { action });
    expect(moved('masked')).toBe(3);
    expect(moved('deleted')).toBe(0);
    expect(count(after, `${M}retention_batch_lock_seconds_count`)).toBeGreaterThan(count(before, `${M}retention_batch_lock_seconds_count`));
  });

  it('counts open WebSockets and the operations running on them, and forgets them when they close', async () => {
    const client = ctx.t.ws(ctx.org.admin.token);
    const events = subscribe(client, 'subscription { notificationAdded { id } }');
    const live = await eventually(async () => {
      const { samples } = await scrape(ctx.t.url);
      return valueOf(samples, `${M}websocket_operations_active`) === 1 ? samples : undefined;
    }, 'the subscription to be counted');
    expect(valueOf(live, `${M}websocket_connections`)).toBe(1);
    events.dispose();
    await client.dispose();
    await eventually(async () => {
      const { samples } = await scrape(ctx.t.url);
      return valueOf(samples, `${M}websocket_connections`) === 0 && valueOf(samples, `${M}websocket_operations_active`) === 0;
    }, 'the closed socket to be forgotten');
  });
});
