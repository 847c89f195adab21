import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { parseSamples, scrape } from '../support/metrics-helpers.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import type { TestDatabase } from '../support/test-database.ts';

const TOKEN = 'metrics-scrape-token-0123456789abcdef';
const M = 'crm_data_admin_';

/** GET /metrics with exactly these headers (no helper adding its own). */
async function metricsWith(url: string, headers: Record<string, string>, query = ''): Promise<{ status: number; body: string; auth: string | null }> {
  const res = await fetch(`${url}/metrics${query}`, { headers });
  return { status: res.status, body: await res.text(), auth: res.headers.get('www-authenticate') };
}

describe('METRICS_TOKEN protects GET /metrics on every role', () => {
  let api: TestApp & { db: TestDatabase };
  let worker: TestApp;
  beforeAll(async () => {
    api = await startTestApp({ role: 'api', env: { METRICS_TOKEN: TOKEN } });
    worker = await startTestApp({ role: 'worker', db: api.db, env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
  });

  const refusals: [string, Record<string, string>, string?][] = [
    ['no Authorization header', {}],
    ['a wrong token of the same length', { authorization: `Bearer ${TOKEN.slice(0, -1)}x` }],
    ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, 16)}` }],
    ['the token with more after it', { authorization: `Bearer ${TOKEN}0` }],
    ['the token under another scheme', { authorization: `Basic ${TOKEN}` }],
    ['the token alone, without a scheme', { authorization: TOKEN }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['the token in the query string', {}, `?token=${TOKEN}`],
  ];

  for (const role of ['api', 'worker'] as const) {
    it.each(refusals)(`${role}: refuses %s with 401 and no metrics`, async (_what, headers, query) => {
      const res = await metricsWith(role === 'api' ? api.url : worker.url, headers, query);
      expect(res.status).toBe(401);
      expect(res.auth).toBe('Bearer realm="metrics"');
      expect(JSON.parse(res.body)).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.stringContaining('METRICS_TOKEN') } });
      expect(res.body).not.toContain(M);
      expect(res.body).not.toContain(TOKEN);
    });

    it(`${role}: answers the right token with the metrics`, async () => {
      const res = await scrape(role === 'api' ? api.url : worker.url, TOKEN);
      expect(res.status).toBe(200);
      expect(res.body).toContain(`# TYPE ${M}jobs_finished_total counter`);
      // The scheme is case-insensitive (RFC 9110); the token is not.
      expect((await metricsWith(role === 'api' ? api.url : worker.url, { authorization: `bearer ${TOKEN}` })).status).toBe(200);
      expect((await metricsWith(role === 'api' ? api.url : worker.url, { authorization: `Bearer ${TOKEN.toUpperCase()}` })).status).toBe(401);
    });
  }

  it('leaves /healthz and /readyz open: probes carry no token', async () => {
    for (const url of [api.url, worker.url]) {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    }
  });
});

describe('metric labels never carry ids, personal data or what a client sent', () => {
  let t: TestApp & { db: TestDatabase };
  let org: TestOrg;
  beforeAll(async () => {
    t = await startTestApp({ role: 'all' });
    org = await createOrg(t.app);
  });
  afterAll(async () => t?.close());

  it('keeps every label to a fixed set of values after hostile and ordinary requests', async () => {
    const orgId = org.organizationId;
    const email = org.admin.email;
    // Operation names, paths, query strings and methods chosen by the client, full of ids and personal data.
    const op = `query Leak_${orgId.replaceAll('-', '_')} { viewer { email } }`;
    await t.gql(org.admin.token, op);
    await t.gql(org.admin.token, `mutation Leak_${email.replace(/\W/g, '_')} { startManualBackup { id } }`);
    await t.gql(org.admin.token, '{ nonsense ');
    await t.gql(null, '{ viewer { email } }');
    await fetch(`${t.url}/graphql/${orgId}?email=${encodeURIComponent(email)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await fetch(`${t.url}/downloads/backups/${orgId}?expires=1&signature=${email}`);
    await fetch(`${t.url}/${orgId}/${encodeURIComponent(org.name)}`);
    await fetch(`${t.url}/healthz?org=${orgId}`, { method: 'PROPFIND' }).catch(() => undefined);
    await fetch(`${t.url}/imports?organizationId=${orgId}`, { method: 'POST' });

    const { status, body } = await scrape(t.url);
    const { rows } = await t.app.services.pool.query<{ name: string }>('select name from pgboss.queue');
    const queues = new Set(rows.map((r) => r.name));
    expect(status).toBe(200);
    expect(body).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i); // no uuid of any kind
    expect(body).not.toMatch(/[0-9a-f]{32}/i); // nor one without its dashes
    for (const secret of [email, org.standard.email, org.name, org.admin.token, 'Leak_', 'nonsense', 'PROPFIND']) expect(body).not.toContain(secret);

    const allowed: Record<string, Set<string> | 'any'> = {
      method: new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'other']),
      route: new Set(['/graphql', '/imports', '/downloads', '/healthz', '/readyz', '/metrics', 'other']),
      status_code: 'any',
      operation_type: new Set(['query', 'mutation', 'subscription', 'unknown']),
      outcome: new Set(['ok', 'error', 'completed', 'failed', 'created', 'updated', 'skipped']),
      queue: queues, // the queues the service itself created
      state: new Set(['total', 'idle', 'waiting', 'created', 'retry', 'active']),
      action: new Set(['expired', 'masked', 'deleted']),
      le: 'any',
    };
    const ours = parseSamples(body).filter((s) => s.name.startsWith(M));
    expect(ours.length).toBeGreaterThan(0);
    for (const sample of ours) {
      for (const [label, value] of Object.entries(sample.labels)) {
        const rule = allowed[label];
        expect(rule, `label ${label} of ${sample.name}`).toBeDefined();
        if (rule !== 'any') expect([...rule!], `${label}="${value}" on ${sample.name}`).toContain(value);
      }
      if (sample.labels.status_code) expect(sample.labels.status_code).toMatch(/^[1-5]\d\d$/);
    }
    // The hostile requests are there, under the fixed labels.
    expect(ours.some((s) => s.labels.route === 'other' && s.labels.status_code === '404')).toBe(true);
    expect(ours.some((s) => s.labels.operation_type === 'unknown' && s.labels.outcome === 'error')).toBe(true);
  });
});
