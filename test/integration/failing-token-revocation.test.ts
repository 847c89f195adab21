import { beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/modules/auth/token.ts';
import type { TestOrg } from '../support/factories.ts';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';
import { codeOf, startTestApp } from '../support/test-app.ts';
import { errorCodeOf, rawSocket } from '../support/ws-raw.ts';

const CREATE_ACCOUNT = 'mutation($name: String!) { createAccount(input: { name: $name }) { id } }';

/** Polls until `refused` holds; resolves with how long that took (ms), or fails after `withinMs` × 3. */
async function msUntil(refused: () => Promise<boolean>, withinMs: number): Promise<number> {
  const start = performance.now();
  while (!(await refused())) {
    if (performance.now() - start > withinMs * 3) throw new Error(`still accepted after ${withinMs * 3} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - start;
}

/** A close code, or 'still open' if the server has not closed the socket within `ms`. */
const closedWithin = (closed: Promise<number>, ms: number) =>
  Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still open'), ms))]);

/** How many accounts of that name exist: a refused mutation must have written nothing. */
async function accountsNamed(t: RunningTestApp, name: string): Promise<number> {
  const { rows } = await t.db.pool.query<{ n: number }>('select count(*)::int as n from accounts where name = $1', [name]);
  return rows[0]!.n;
}

describe('revoked tokens, across api processes (token cache + NOTIFY)', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({}, (ready) => ({ t, org } = ready));
  let tokenFor: (label: string) => Promise<string>;
  beforeAll(() => {
    tokenFor = (label) => t.app.services.auth.createToken(org.admin.userId, label);
  });

  it('revoked through one process: the other refuses HTTP within 1 s and closes its open socket with 4403 within 5 s', async () => {
    const other = await startTestApp({ db: t.db, role: 'api' });
    try {
      const token = await tokenFor('used on two processes');
      // Both processes have seen (and cached) the token; a socket on the first runs a live subscription.
      expect((await t.gql(token, '{ viewer { id } }')).status).toBe(200);
      expect((await other.gql(token, '{ viewer { id } }')).status).toBe(200);
      const ws = await rawSocket(t.url, token);
      expect(ws.connected).toBe('ack');
      ws.socket.send(JSON.stringify({ id: 'live', type: 'subscribe', payload: { query: 'subscription { notificationAdded { id } }' } }));
      const closedAt = ws.closed.then((code) => ({ code, at: performance.now() }));

      const revokedAt = performance.now();
      expect(await other.app.services.auth.revokeToken(token)).toBe(true);
      const httpMs = await msUntil(async () => (await t.gql(token, '{ viewer { id } }')).status === 401, 1_000);
      expect(httpMs).toBeLessThan(1_000);
      const closed = await closedAt;
      expect(closed.code).toBe(4403);
      expect(closed.at - revokedAt).toBeLessThan(5_000);

      const res = await t.gql(token, '{ viewer { id } }');
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
      expect((await rawSocket(t.url, token)).connected).toBe(4403); // a new socket is refused too
      expect((await other.gql(token, '{ viewer { id } }')).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('checks the token again before every WebSocket operation: a socket whose token died cannot run a new mutation', async () => {
    // This process never hears of the revocation (it is made in SQL, with no NOTIFY): only the cache's TTL
    // (moved on by a clock of the test's own) and the per-operation check stand between the socket and a write.
    let now = 1_000_000;
    const lonely = await startTestApp({ db: t.db, role: 'api', overrides: { tokenCache: { ttlMs: 60_000, now: () => now } } });
    try {
      const token = await tokenFor('revoked behind the cache');
      const ws = await rawSocket(lonely.url, token);
      expect(ws.connected).toBe('ack');
      const before = await ws.operation(CREATE_ACCOUNT, { name: 'Written while live' });
      expect(typeof before === 'object' && before.type).toBe('next');

      await t.db.pool.query('update api_tokens set revoked_at = now() where token_hash = $1', [hashToken(token)]);
      now += 60_001;
      const after = await ws.operation(CREATE_ACCOUNT, { name: 'Written after revocation' });
      // The operation is refused (UNAUTHENTICATED) and the socket closed with 4403, whichever reaches the client first.
      expect(after === 4403 || errorCodeOf(after) === 'UNAUTHENTICATED').toBe(true);
      expect(await closedWithin(ws.closed, 5_000)).toBe(4403);
      expect(await accountsNamed(t, 'Written while live')).toBe(1);
      expect(await accountsNamed(t, 'Written after revocation')).toBe(0);
    } finally {
      await lonely.close();
    }
  });

  it('a lost LISTEN connection empties the cache and re-checks open sockets: a revocation missed meanwhile still lands', async () => {
    const token = await tokenFor('revoked while deaf');
    expect((await t.gql(token, '{ viewer { id } }')).status).toBe(200); // cached
    const ws = await rawSocket(t.url, token);
    expect(ws.connected).toBe('ack');
    // Revoked with no notification at all, then the listener's connection is cut (the only app on this database now).
    await t.db.pool.query('update api_tokens set revoked_at = now() where token_hash = $1', [hashToken(token)]);
    expect((await t.gql(token, '{ viewer { id } }')).status).toBe(200); // the cache has not heard: the window the TTL bounds
    const { rows } = await t.db.pool.query(
      `select pg_terminate_backend(pid) as ok from pg_stat_activity
        where datname = current_database() and application_name = 'crm-data-admin-listen'`,
    );
    expect(rows).toHaveLength(1);
    expect(await closedWithin(ws.closed, 10_000)).toBe(4403); // reconnects after 0.5 s, then re-checks
    expect((await t.gql(token, '{ viewer { id } }')).status).toBe(401);
  });

  it('revoked through this process: refused on the very next request (the cache forgets it before the NOTIFY returns)', async () => {
    const token = await tokenFor('revoked here');
    expect((await t.gql(token, '{ viewer { id } }')).status).toBe(200);
    expect(t.app.services.auth.cachedViewer(token)).toBeDefined();
    expect(await t.app.services.auth.revokeToken(token)).toBe(true);
    expect(t.app.services.auth.cachedViewer(token)).toBeUndefined();
    expect((await t.gql(token, '{ viewer { id } }')).status).toBe(401);
    expect(await t.app.services.auth.revokeToken(token)).toBe(false); // twice: nothing more to revoke
  });

  it('an unknown, malformed or revoked token on a socket is refused at connection_init and nothing is cached for it', async () => {
    const token = await tokenFor('revoked before use');
    await t.app.services.auth.revokeToken(token);
    for (const bad of [token, 'cda_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'cda_short']) {
      expect((await rawSocket(t.url, bad)).connected).toBe(4403);
    }
    expect(t.app.services.auth.cachedViewer(token)).toBeUndefined();
    expect((await t.gql(org.admin.token, '{ viewer { id } }')).status).toBe(200); // others unaffected
  });
});
