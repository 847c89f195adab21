import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationPruneQueue } from '../../src/modules/notifications/notification.jobs.ts';
import { eventually, waitForStatus } from '../support/backup-helpers.ts';
import { useOrgApp, type OrgApp } from '../support/org-app.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';
import { csvOf, importFile } from '../support/restore-helpers.ts';
import { applyPolicy, insertContacts, stopCronSweep } from '../support/retention-helpers.ts';

type Delivery = { id: string; webhookId: string; event: string; attempt: number; status: string; responseStatus: number | null; error: string | null; deliveredAt: string | null };
const CREATE = `mutation($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id url events enabled createdAt } } }`;
const DELIVERIES = `query($id: ID!, $first: Int, $after: String) { webhookDeliveries(endpointId: $id, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } nodes { id webhookId event attempt status responseStatus error deliveredAt } } }`;

/**
 * Webhooks end to end: real backups, a real HTTP receiver on loopback (WEBHOOK_ALLOW_PRIVATE=true), signatures
 * checked with the standardwebhooks package (an implementation independent of ours). No backoff wait: the
 * base delay is injected as 0.
 */
describe('webhooks: signed deliveries, retries, redelivery, rotation', () => {
  let s: OrgApp;
  let flaky: WebhookReceiver;
  let broken: WebhookReceiver;
  useOrgApp({ env: { WEBHOOK_ALLOW_PRIVATE: 'true' }, overrides: { webhooks: { retryBaseSeconds: 0 } } }, (ready) => (s = ready));
  let endpoint: { id: string; secret: string };
  let brokenId: string;
  let backupId: string;

  const gql = async <T>(query: string, variables?: Record<string, unknown>): Promise<T> => {
    const res = await s.t.gql<T>(s.org.admin.token, query, variables);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!;
  };
  const deliveries = async (id: string) => (await gql<{ webhookDeliveries: { nodes: Delivery[] } }>(DELIVERIES, { id, first: 100 })).webhookDeliveries.nodes;

  beforeAll(async () => {
    flaky = await startWebhookReceiver([500, 204]);
    broken = await startWebhookReceiver([503]);
    const created = await gql<{ createWebhookEndpoint: { secret: string; endpoint: { id: string } } }>(CREATE, { input: { url: flaky.url, events: ['BACKUP_COMPLETED', 'BACKUP_FAILED'] } });
    endpoint = { id: created.createWebhookEndpoint.endpoint.id, secret: created.createWebhookEndpoint.secret };
    brokenId = (await gql<{ createWebhookEndpoint: { endpoint: { id: string } } }>(CREATE, { input: { url: broken.url, events: ['BACKUP_COMPLETED'] } })).createWebhookEndpoint.endpoint.id;
    const started = await gql<{ startManualBackup: { id: string } }>('mutation { startManualBackup { id } }');
    backupId = started.startManualBackup.id;
    await waitForStatus(s.t.app.services.pool, backupId, ['COMPLETED'], 60_000);
  });
  afterAll(async () => {
    await flaky?.close();
    await broken?.close();
  });

  it('shows the secret once, as whsec_<base64>', async () => {
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const list = await gql<{ webhookEndpoints: { id: string; url: string; events: string[]; enabled: boolean }[] }>('{ webhookEndpoints { id url events enabled } }');
    expect(list.webhookEndpoints).toHaveLength(2);
    expect(list.webhookEndpoints[0]).toEqual({ id: endpoint.id, url: flaky.url, events: ['BACKUP_COMPLETED', 'BACKUP_FAILED'], enabled: true });
    const stored = await s.t.app.services.pool.query<{ secret_ciphertext: Buffer }>('select secret_ciphertext from webhook_endpoints where id = $1', [endpoint.id]);
    expect(stored.rows[0]!.secret_ciphertext.toString('latin1')).not.toContain(endpoint.secret.slice(6, 20));
  });

  it('delivers backup.completed signed per Standard Webhooks, retried with the same webhook-id after a 500', async () => {
    const [first, second] = await flaky.waitFor(2);
    const verifier = new Webhook(endpoint.secret);
    for (const request of [first!, second!]) {
      const payload = verifier.verify(request.body, request.headers) as { type: string; timestamp: string; data: Record<string, unknown> };
      expect(payload.type).toBe('backup.completed');
      expect(payload.data).toMatchObject({ organizationId: s.org.organizationId, backupId, records: { LEADS: 0, CONTACTS: 0, ACCOUNTS: 0, DEALS: 0 } });
      expect(Object.keys(payload.data).sort()).toEqual(['backupId', 'fileName', 'organizationId', 'records', 'sha256', 'sizeBytes']);
    }
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(second!.body).toBe(first!.body);
    // Tampering is caught by the independent verifier.
    expect(() => verifier.verify(first!.body.replace('backup.completed', 'backup.failed'), first!.headers)).toThrow();

    const log = await eventually(async () => {
      const rows = await deliveries(endpoint.id);
      return rows.length === 2 && rows[0]!.status === 'DELIVERED' ? rows : undefined;
    }, 'the delivery log');
    expect(log.map((d) => [d.attempt, d.status, d.responseStatus, d.error])).toEqual([[2, 'DELIVERED', 204, null], [1, 'RETRYING', 500, 'HTTP 500']]);
    expect(log[0]!.webhookId).toBe(first!.headers['webhook-id']);
    expect(log[0]!.deliveredAt).not.toBeNull();
  });

  it('gives up after 8 attempts, each in the log, the last FAILED', async () => {
    const log = await eventually(async () => {
      const rows = await deliveries(brokenId);
      return rows.length === 8 && rows[0]!.status === 'FAILED' ? rows : undefined;
    }, '8 attempts', 60_000);
    expect(log.map((d) => d.attempt)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(log.slice(1).every((d) => d.status === 'RETRYING' && d.responseStatus === 503)).toBe(true);
    expect(new Set(log.map((d) => d.webhookId)).size).toBe(1);
    expect(broken.received).toHaveLength(8);
  });

  it('redelivers with the same webhook-id as a new attempt, signed with the rotated secret', async () => {
    const rotated = await gql<{ rotateWebhookSecret: { secret: string; endpoint: { id: string } } }>('mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { id } } }', { id: endpoint.id });
    const secret = rotated.rotateWebhookSecret.secret;
    expect(secret).not.toBe(endpoint.secret);
    const [latest] = await deliveries(endpoint.id);
    const again = await gql<{ redeliverWebhook: Delivery }>('mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id webhookId attempt status } }', { id: latest!.id });
    expect(again.redeliverWebhook).toMatchObject({ webhookId: latest!.webhookId, attempt: 3, status: 'PENDING' });
    const third = (await flaky.waitFor(3))[2]!;
    expect(third.headers['webhook-id']).toBe(latest!.webhookId);
    expect(new Webhook(secret).verify(third.body, third.headers)).toMatchObject({ type: 'backup.completed' });
    expect(() => new Webhook(endpoint.secret).verify(third.body, third.headers)).toThrow();
    await eventually(async () => (await deliveries(endpoint.id))[0]!.status === 'DELIVERED', 'the redelivery');
  });

  it('updates, records every change in the activity stream without secrets, and deletes with its log', async () => {
    const updated = await gql<{ updateWebhookEndpoint: { events: string[]; enabled: boolean; url: string } }>(
      'mutation($id: ID!, $input: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { url events enabled } }',
      { id: endpoint.id, input: { url: `${flaky.url}/v2`, events: ['RETENTION_SWEPT'], enabled: false } },
    );
    expect(updated.updateWebhookEndpoint).toEqual({ url: `${flaky.url}/v2`, events: ['RETENTION_SWEPT'], enabled: false });
    const stream = await gql<{ activityStream: { nodes: { kind: string; subjectId: string; data: Record<string, unknown> }[] } }>(
      'query($id: ID!) { activityStream(subjectType: "WEBHOOK_ENDPOINT", subjectId: $id) { nodes { kind subjectId data } } }', { id: endpoint.id });
    expect(stream.activityStream.nodes.map((n) => n.kind)).toEqual(['webhook.endpoint_updated', 'webhook.secret_rotated', 'webhook.endpoint_created']);
    expect(stream.activityStream.nodes[0]!.data).toEqual({
      before: { host: `127.0.0.1:${flaky.port}`, events: ['BACKUP_COMPLETED', 'BACKUP_FAILED'], enabled: true },
      after: { host: `127.0.0.1:${flaky.port}`, events: ['RETENTION_SWEPT'], enabled: false },
    });
    expect(JSON.stringify(stream)).not.toContain('whsec_');

    expect(await gql('mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id: endpoint.id })).toEqual({ deleteWebhookEndpoint: true });
    expect((await gql<{ webhookEndpoints: { id: string }[] }>('{ webhookEndpoints { id } }')).webhookEndpoints.map((e) => e.id)).toEqual([brokenId]);
    const left = await s.t.app.services.pool.query('select 1 from webhook_deliveries where endpoint_id = $1', [endpoint.id]);
    expect(left.rowCount).toBe(0);
  });

  it('prunes notifications after 90 days and deliveries after 30, and nothing younger', async () => {
    const { pool } = s.t.app.services;
    const org = s.org.organizationId;
    await pool.query(`insert into notifications (organization_id, user_id, kind, title, created_at) values
      ($1, $2, 'old', 'old', now() - interval '91 days'), ($1, $2, 'young', 'young', now() - interval '89 days')`, [org, s.org.admin.userId]);
    await pool.query(`update webhook_deliveries set created_at = now() - interval '31 days' where endpoint_id = $1 and attempt <= 2`, [brokenId]);
    await notificationPruneQueue.handler(s.t.app.services, []);
    const kinds = (await pool.query<{ kind: string }>(`select kind from notifications where kind in ('old', 'young')`)).rows.map((r) => r.kind);
    expect(kinds).toEqual(['young']);
    const attempts = (await pool.query<{ attempt: number }>('select attempt from webhook_deliveries where endpoint_id = $1 order by attempt', [brokenId])).rows.map((r) => r.attempt);
    expect(attempts).toEqual([3, 4, 5, 6, 7, 8]);
    // The activity stream is the audit trail: never pruned.
    expect((await pool.query('select 1 from activity_events where organization_id = $1', [org])).rowCount).toBeGreaterThan(0);
  });
});

describe('webhooks for imports and retention sweeps', () => {
  let s: OrgApp;
  let receiver: WebhookReceiver;
  let secret: string;
  useOrgApp({ env: { WEBHOOK_ALLOW_PRIVATE: 'true' } }, (ready) => (s = ready));
  beforeAll(async () => {
    await stopCronSweep(s.t.app);
    receiver = await startWebhookReceiver([200]);
    const res = await s.t.gql<{ createWebhookEndpoint: { secret: string } }>(s.org.admin.token, CREATE, { input: { url: receiver.url, events: ['IMPORT_COMPLETED', 'IMPORT_FAILED', 'RETENTION_SWEPT'] } });
    secret = res.data!.createWebhookEndpoint.secret;
  });
  afterAll(async () => receiver?.close());

  it('sends import.completed with the counts', async () => {
    const job = await importFile(s.t, s.org.admin.token, { module: 'ACCOUNTS', file: { name: 'accounts.csv', data: csvOf('ACCOUNTS', [{ id: randomUUID(), name: 'Acme' }]) } });
    expect(job.status).toBe('COMPLETED');
    const [request] = await receiver.waitFor(1);
    expect(new Webhook(secret).verify(request!.body, request!.headers)).toMatchObject({
      type: 'import.completed',
      data: { organizationId: s.org.organizationId, importId: job.id, created: 1, updated: 0, skipped: 0, failed: 0 },
    });
  });

  it('sends retention.swept with the counts, never a record', async () => {
    const day = 24 * 3600 * 1000;
    await insertContacts(s.t.app.services.pool, s.org.organizationId, [{ createdAt: new Date(Date.now() - 60 * day).toISOString() }]);
    await applyPolicy(s.t.gql, s.t.app.services.pool, s.org.admin.token, {
      module: 'CONTACTS', retentionPeriod: { value: 30, unit: 'DAYS' }, action: 'MASK', actionPeriod: { value: 60, unit: 'DAYS' },
    });
    await s.t.app.services.retention.sweep();
    const request = (await receiver.waitFor(2))[1]!;
    const payload = new Webhook(secret).verify(request.body, request.headers) as { type: string; data: Record<string, unknown> };
    expect(payload).toMatchObject({ type: 'retention.swept', data: { organizationId: s.org.organizationId, expired: 0, masked: 1, deleted: 0 } });
    expect(request.body).not.toContain('@example.com');
  });
});
