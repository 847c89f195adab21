import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';
import { startTestApp } from '../support/test-app.ts';
import { errorCodeOf, rawSocket } from '../support/ws-raw.ts';

const LIMIT = 3; // per minute: one operation every 20 s
const UNKNOWN = 'cda_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const CREATE_ACCOUNT = 'mutation($name: String!) { createAccount(input: { name: $name }) { id } }';

/** POST /graphql, keeping the status, the Retry-After header and the body. */
async function post(url: string, token: string | null, query = '{ viewer { id } }', variables?: Record<string, unknown>) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: unknown; errors?: { message: string; extensions: Record<string, unknown> }[] };
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body };
}

describe(`rate limits (RATE_LIMIT_PER_MINUTE=${LIMIT})`, () => {
  let t: RunningTestApp;
  let org: TestOrg;
  // The limiter's time is the test's: buckets refill when the test says so, never by sleeping.
  let now = 1_000_000;
  useOrgApp(
    { env: { RATE_LIMIT_PER_MINUTE: String(LIMIT) }, overrides: { rateLimitNow: () => now } },
    (ready) => ({ t, org } = ready),
  );
  let tokenFor: (label: string) => Promise<string>;
  beforeAll(() => {
    tokenFor = (label) => t.app.services.auth.createToken(org.admin.userId, label);
  });
  beforeEach(() => {
    now += 60_000; // every bucket full again: each test starts with a whole minute's budget
  });

  it('POST /graphql over the limit: 429, Retry-After, a GraphQL error RATE_LIMITED with retryAfterSeconds', async () => {
    const token = await tokenFor('busy');
    for (let i = 0; i < LIMIT; i++) expect((await post(t.url, token)).status).toBe(200);
    const refused = await post(t.url, token);
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('20');
    expect(refused.body.data ?? null).toBeNull();
    expect(refused.body.errors).toEqual([
      { message: expect.stringMatching(/at most 3 per minute/), extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 20 } },
    ]);
    // Per token: another token of the same user and address is not affected.
    expect((await post(t.url, await tokenFor('calm'))).status).toBe(200);
    // After Retry-After, one more operation is allowed (and only one).
    now += 20_000;
    expect((await post(t.url, token)).status).toBe(200);
    expect((await post(t.url, token)).status).toBe(429);
  });

  it('a mutation refused by the limit writes nothing', async () => {
    const token = await tokenFor('writer');
    for (let i = 0; i < LIMIT; i++) await post(t.url, token);
    const refused = await post(t.url, token, CREATE_ACCOUNT, { name: 'Over the limit' });
    expect(refused.status).toBe(429);
    const { rows } = await t.db.pool.query("select count(*)::int as n from accounts where name = 'Over the limit'");
    expect(rows[0].n).toBe(0);
  });

  it('unauthenticated requests count per client address, and random tokens do not buy a fresh budget', async () => {
    const known = await tokenFor('seen before the flood');
    expect((await post(t.url, known)).status).toBe(200);
    const statuses = [];
    for (let i = 0; i < LIMIT + 3; i++) {
      const random = `cda_${Buffer.from(`${i}-${Math.random()}`).toString('base64url').padEnd(43, 'A')}`;
      statuses.push((await post(t.url, i % 2 ? null : random)).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    const refused = await post(t.url, UNKNOWN);
    expect(refused.retryAfter).toBe('20');
    expect(refused.body.errors?.[0]?.extensions.code).toBe('RATE_LIMITED');
    // A token this process already knows to be live keeps its own budget on the same address…
    expect((await post(t.url, known)).status).toBe(200);
    // …but an address over its budget gets no more database lookups, so a token not seen before waits too.
    expect((await post(t.url, await tokenFor('never seen'))).status).toBe(429);
  });

  it('POST /imports over the limit: 429 with Retry-After, and the uploading client reads the answer', async () => {
    const token = await tokenFor('importer');
    for (let i = 0; i < LIMIT; i++) await post(t.url, token);
    const form = new FormData();
    form.append('module', 'ACCOUNTS');
    form.append('file', new Blob([new Uint8Array(2 * 1024 * 1024)]), 'accounts.csv');
    const res = await fetch(`${t.url}/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
      body: form,
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('20');
    expect(await res.json()).toEqual({ error: { code: 'RATE_LIMITED', message: expect.stringMatching(/retry in 20 s/) } });
    const { rows } = await t.db.pool.query('select count(*)::int as n from import_jobs where organization_id = $1', [org.organizationId]);
    expect(rows[0].n).toBe(0);
  });

  it('GET /downloads over the limit (per client address): 429 with Retry-After', async () => {
    const link = `${t.url}/downloads/backups/00000000-0000-4000-8000-000000000000?expires=1&signature=x`;
    const statuses = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await fetch(link)).status);
    expect(statuses).toEqual([403, 403, 403, 429]);
    const refused = await fetch(link);
    expect(refused.headers.get('retry-after')).toBe('20');
    expect(await refused.json()).toEqual({ error: { code: 'RATE_LIMITED', message: expect.any(String) } });
  });

  it('WebSocket: the operation over the limit gets RATE_LIMITED; the socket stays open and works once the budget refills', async () => {
    const token = await tokenFor('socket');
    const ws = await rawSocket(t.url, token);
    expect(ws.connected).toBe('ack');
    for (let i = 0; i < LIMIT; i++) expect(await ws.operation('{ viewer { id } }')).toMatchObject({ type: 'next' });
    const refused = await ws.operation(CREATE_ACCOUNT, { name: 'Over the limit on a socket' });
    expect(errorCodeOf(refused)).toBe('RATE_LIMITED');
    expect(refused).toMatchObject({ payload: [{ extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 20 } }] });
    expect(ws.isOpen()).toBe(true);
    const { rows } = await t.db.pool.query("select count(*)::int as n from accounts where name = 'Over the limit on a socket'");
    expect(rows[0].n).toBe(0);
    // HTTP and WebSocket share the token's budget.
    expect((await post(t.url, token)).status).toBe(429);
    now += 20_000;
    expect(await ws.operation('{ viewer { id } }')).toMatchObject({ type: 'next' });
    ws.socket.close();
  });

  it('WebSocket connection_init with refused tokens counts per address: over it, 4429 before any lookup', async () => {
    const closes = [];
    for (let i = 0; i <= LIMIT; i++) closes.push((await rawSocket(t.url, UNKNOWN)).connected);
    expect(closes).toEqual([4403, 4403, 4403, 4429]);
    // A live token this process knows is not charged for connecting, and still connects from that address.
    const token = await tokenFor('connects while the address is over');
    expect((await post(t.url, token)).status).toBe(429); // unseen token, address over budget: no lookup
    now += 20_000;
    expect((await post(t.url, token)).status).toBe(200); // now seen (cached)
    for (let i = 0; i < LIMIT; i++) await post(t.url, null); // the address is over its budget again
    const ws = await rawSocket(t.url, token);
    expect(ws.connected).toBe('ack');
    ws.socket.close();
  });

  it('RATE_LIMIT_PER_MINUTE=0 disables the limit', async () => {
    const unlimited = await startTestApp({ db: t.db, role: 'api', env: { RATE_LIMIT_PER_MINUTE: '0' } });
    try {
      const token = await tokenFor('benchmark');
      const statuses = await Promise.all(Array.from({ length: 4 * LIMIT }, () => post(unlimited.url, token).then((r) => r.status)));
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(unlimited.app.services.rateLimiter.size).toBe(0);
    } finally {
      await unlimited.close();
    }
  });
});
