import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostResolver } from '../../src/modules/webhooks/webhook-address.ts';
import { eventually, waitForStatus } from '../support/backup-helpers.ts';
import { useOrgApp, type OrgApp } from '../support/org-app.ts';
import { codeOf } from '../support/test-app.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const CREATE = `mutation($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id } } }`;
const DELIVERIES = `query($id: ID!, $after: String) { webhookDeliveries(endpointId: $id, first: 50, after: $after) { nodes { id attempt status error responseStatus } } }`;

/** DNS as the test says: a public answer, a private one, and one that changes after the endpoint is created. */
const answers = new Map<string, string[]>([
  ['public.example', ['93.184.216.34']],
  ['internal.example', ['10.0.0.7']],
  ['mixed.example', ['93.184.216.34', '192.168.1.10']],
  ['metadata.example', ['169.254.169.254']],
  ['rebind.example', ['93.184.216.34']],
]);
const resolver: HostResolver = async (host) => (answers.get(host) ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('webhooks refuse what they must, at creation and at delivery (WEBHOOK_ALLOW_PRIVATE unset)', () => {
  let s: OrgApp;
  let receiver: WebhookReceiver;
  useOrgApp({ orgs: 2, overrides: { webhooks: { resolver, retryBaseSeconds: 0 } } }, (ready) => (s = ready));
  const count = async () => (await s.t.app.services.pool.query('select 1 from webhook_endpoints')).rowCount;
  beforeAll(async () => {
    receiver = await startWebhookReceiver([200]);
  });
  afterAll(async () => receiver?.close());

  it('refuses private, loopback, link-local, metadata and unresolvable hosts, other schemes and bad events with BAD_USER_INPUT; writes nothing', async () => {
    const cases: [string, string[], string][] = [
      ['http://127.0.0.1:8080/hook', ['BACKUP_COMPLETED'], 'url'],
      ['http://localhost/hook', ['BACKUP_COMPLETED'], 'url'],
      ['http://[::1]/hook', ['BACKUP_COMPLETED'], 'url'],
      ['http://[::ffff:127.0.0.1]/hook', ['BACKUP_COMPLETED'], 'url'],
      ['http://169.254.169.254/latest/meta-data', ['BACKUP_COMPLETED'], 'url'],
      ['https://metadata.example/', ['BACKUP_COMPLETED'], 'url'],
      ['https://internal.example/hook', ['BACKUP_COMPLETED'], 'url'],
      ['https://mixed.example/hook', ['BACKUP_COMPLETED'], 'url'],
      ['https://nowhere.example/hook', ['BACKUP_COMPLETED'], 'url'],
      ['ftp://public.example/hook', ['BACKUP_COMPLETED'], 'url'],
      ['https://user:pass@public.example/hook', ['BACKUP_COMPLETED'], 'url'],
      [`https://public.example/${'x'.repeat(2100)}`, ['BACKUP_COMPLETED'], 'url'],
      ['not a url', ['BACKUP_COMPLETED'], 'url'],
      ['https://public.example/hook', [], 'events'],
    ];
    for (const [url, events, field] of cases) {
      const res = await s.t.gql(s.org.admin.token, CREATE, { input: { url, events } });
      expect(codeOf(res), url).toBe('BAD_USER_INPUT');
      expect(res.errors![0]!.message.startsWith(`${field}:`), res.errors![0]!.message).toBe(true);
    }
    expect(codeOf(await s.t.gql(s.org.admin.token, CREATE, { input: { url: 'https://public.example/', events: ['BACKUP_DONE'] } }))).toBe('BAD_USER_INPUT');
    expect(await count()).toBe(0);
  });

  it('checks the address again at delivery: a host that now resolves to loopback is FAILED, never contacted', async () => {
    const url = `http://rebind.example:${receiver.port}/hooks`;
    const created = await s.t.gql<{ createWebhookEndpoint: { endpoint: { id: string } } }>(s.org.admin.token, CREATE, { input: { url, events: ['BACKUP_COMPLETED'] } });
    const id = created.data!.createWebhookEndpoint.endpoint.id;
    answers.set('rebind.example', ['127.0.0.1']);
    const started = await s.t.gql<{ startManualBackup: { id: string } }>(s.org.admin.token, 'mutation { startManualBackup { id } }');
    await waitForStatus(s.t.app.services.pool, started.data!.startManualBackup.id, ['COMPLETED'], 60_000);
    const log = await eventually(async () => {
      const res = await s.t.gql<{ webhookDeliveries: { nodes: { attempt: number; status: string; error: string }[] } }>(s.org.admin.token, DELIVERIES, { id });
      const nodes = res.data!.webhookDeliveries.nodes;
      return nodes.length > 0 && nodes[0]!.status !== 'PENDING' ? nodes : undefined;
    }, 'the refused delivery');
    expect(log).toEqual([expect.objectContaining({ attempt: 1, status: 'FAILED', error: 'refused: the host resolves to a loopback, private, link-local or metadata address' })]);
    expect(receiver.received).toHaveLength(0);
  });

  it('keeps organizations apart: another organization\'s ids are NOT_FOUND, its lists empty', async () => {
    const { rows } = await s.t.app.services.pool.query<{ id: string; delivery: string }>(
      'select e.id, d.id as delivery from webhook_endpoints e join webhook_deliveries d on d.endpoint_id = e.id limit 1');
    const { id, delivery } = rows[0]!;
    const other = s.other.admin.token;
    const input = { url: 'https://public.example/x', events: ['BACKUP_FAILED'] };
    for (const [query, vars] of [
      ['mutation($id: ID!, $input: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id } }', { id, input }],
      ['mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }', { id }],
      ['mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id }],
      [DELIVERIES, { id }],
      ['mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }', { id: delivery }],
      ['mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }', { id: 'not-an-id' }],
      ['mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id: '00000000-0000-4000-8000-000000000000' }],
    ] as const) {
      expect(codeOf(await s.t.gql(other, query, vars)), query).toBe('NOT_FOUND');
    }
    expect((await s.t.gql(other, '{ webhookEndpoints { id } }')).data).toEqual({ webhookEndpoints: [] });
    const after = await s.t.app.services.pool.query('select url, events from webhook_endpoints where id = $1', [id]);
    expect(after.rows[0]).toMatchObject({ events: ['BACKUP_COMPLETED'] });
    expect((await s.t.app.services.pool.query('select 1 from webhook_deliveries where endpoint_id = $1', [id])).rowCount).toBe(1);
  });

  it('is ADMIN only, checked on the server', async () => {
    const { rows } = await s.t.app.services.pool.query<{ id: string }>('select id from webhook_endpoints limit 1');
    const id = rows[0]!.id;
    for (const [query, vars] of [
      ['{ webhookEndpoints { id } }', {}],
      [DELIVERIES, { id }],
      [CREATE, { input: { url: 'https://public.example/', events: ['BACKUP_COMPLETED'] } }],
      ['mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }', { id }],
      ['mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id }],
    ] as const) {
      expect(codeOf(await s.t.gql(s.org.standard.token, query, vars)), query).toBe('FORBIDDEN');
    }
    expect(await count()).toBe(1);
    expect(codeOf(await s.t.gql(s.org.admin.token, DELIVERIES, { id, after: 'forged' }))).toBe('BAD_USER_INPUT');
    // An update with a refused URL or no events changes nothing.
    const before = (await s.t.app.services.pool.query('select url, events, enabled, secret_ciphertext from webhook_endpoints where id = $1', [id])).rows[0];
    const UPDATE = 'mutation($id: ID!, $input: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id } }';
    for (const input of [{ url: 'https://internal.example/', events: ['BACKUP_FAILED'] }, { url: 'https://public.example/', events: [] }]) {
      expect(codeOf(await s.t.gql(s.org.admin.token, UPDATE, { id, input }))).toBe('BAD_USER_INPUT');
    }
    expect((await s.t.app.services.pool.query('select url, events, enabled, secret_ciphertext from webhook_endpoints where id = $1', [id])).rows[0]).toEqual(before);
  });
});

describe('a receiver that never answers', () => {
  let s: OrgApp;
  let server: http.Server;
  let port: number;
  useOrgApp({ env: { WEBHOOK_ALLOW_PRIVATE: 'true' }, overrides: { webhooks: { retryBaseSeconds: 3600 } } }, (ready) => (s = ready));
  beforeAll(async () => {
    server = http.createServer(() => undefined); // reads the request, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('gives up the attempt after 10 s and plans the next one', async () => {
    const created = await s.t.gql<{ createWebhookEndpoint: { endpoint: { id: string } } }>(s.org.admin.token, CREATE, { input: { url: `http://127.0.0.1:${port}/`, events: ['BACKUP_COMPLETED'] } });
    const id = created.data!.createWebhookEndpoint.endpoint.id;
    const started = await s.t.gql<{ startManualBackup: { id: string } }>(s.org.admin.token, 'mutation { startManualBackup { id } }');
    await waitForStatus(s.t.app.services.pool, started.data!.startManualBackup.id, ['COMPLETED'], 60_000);
    const log = await eventually(async () => {
      const nodes = (await s.t.gql<{ webhookDeliveries: { nodes: { attempt: number; status: string; error: string | null }[] } }>(s.org.admin.token, DELIVERIES, { id })).data!.webhookDeliveries.nodes;
      return nodes.length === 2 ? nodes : undefined;
    }, 'the timed-out attempt', 40_000);
    expect(log.map((d) => [d.attempt, d.status, d.error])).toEqual([[2, 'PENDING', null], [1, 'RETRYING', 'timed out after 10 s']]);
  });
});
