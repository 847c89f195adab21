import type { Client } from 'graphql-ws';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import { publishUntilReceived, type RunningTestApp } from '../support/foundation-helpers.ts';
import { codeOf, startTestApp, subscribe } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

const UNKNOWN = 'cda_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** Subscribes and resolves with how the server ended the connection (close code) or the first event. */
function firstOutcome(client: Client): Promise<{ closeCode?: number; data?: unknown }> {
  return new Promise((resolve) => {
    client.on('closed', (event) => resolve({ closeCode: (event as { code: number }).code }));
    client.subscribe(
      { query: 'subscription { notificationAdded { id } }' },
      { next: (value) => resolve({ data: value.data }), error: () => undefined, complete: () => undefined },
    );
  });
}

describe('authentication failures', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  let revoked: string;
  useOrgApp({}, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    revoked = await t.app.services.auth.createToken(org.admin.userId, 'revoked');
    await t.app.services.auth.revokeToken(revoked);
  });

  describe('over HTTP', () => {
    it.each([
      ['no Authorization header', null, undefined],
      ['an unknown token', UNKNOWN, undefined],
      ['a malformed token', 'cda_short', undefined],
      ['a token with another scheme', null, `Basic ${Buffer.from('a:b').toString('base64')}`],
      ['an empty bearer', null, 'Bearer '],
    ])('answers 401 UNAUTHENTICATED for %s, with no data', async (_label, token, header) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      if (header !== undefined) headers.authorization = header;
      const res = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query: '{ viewer { email } contacts { totalCount } }' }),
      });
      const body = (await res.json()) as { data?: unknown; errors: { extensions: { code: string } }[] };
      expect(res.status).toBe(401);
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      expect(body.data ?? null).toBeNull();
    });

    it('answers 401 UNAUTHENTICATED for a revoked token (revocation is immediate)', async () => {
      const res = await t.gql(revoked, '{ viewer { email } }');
      expect(res.status).toBe(401);
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
    });

    it('refuses a token revoked by another process within a second (its NOTIFY empties the token cache)', async () => {
      const other = await startTestApp({ db: t.db, role: 'api' });
      try {
        const token = await t.app.services.auth.createToken(org.standard.userId, 'used on two instances');
        expect((await t.gql(token, '{ viewer { id } }')).status).toBe(200);
        expect((await other.gql(token, '{ viewer { id } }')).status).toBe(200);
        expect(await other.app.services.auth.revokeToken(token)).toBe(true);
        const deadline = Date.now() + 1_000;
        let res = await t.gql(token, '{ viewer { id } }');
        while (res.status !== 401 && Date.now() < deadline) res = await t.gql(token, '{ viewer { id } }');
        expect(res.status).toBe(401);
        expect(codeOf(res)).toBe('UNAUTHENTICATED');
        expect(await firstOutcome(t.ws(token))).toEqual({ closeCode: 4403 });
      } finally {
        await other.close();
      }
    });

    it('refuses a mutation with an unknown token and writes nothing', async () => {
      const res = await t.gql(UNKNOWN, 'mutation { createAccount(input: { name: "Intruder" }) { id } }');
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
      const { rows } = await t.db.pool.query("select count(*)::int as n from accounts where name = 'Intruder'");
      expect(rows[0].n).toBe(0);
    });
  });

  describe('roles', () => {
    it('refuses the admin-only activityStream to a STANDARD user with FORBIDDEN and serves it to an ADMIN', async () => {
      const standard = await t.gql(org.standard.token, '{ activityStream { totalCount nodes { id } } }');
      expect(codeOf(standard)).toBe('FORBIDDEN');
      expect(standard.data ?? null).toBeNull();
      const admin = await t.gql(org.admin.token, '{ activityStream { totalCount nodes { id } } }');
      expect(admin.errors).toBeUndefined();
      expect(admin.data).toEqual({ activityStream: { totalCount: 0, nodes: [] } });
    });

    it('still answers the fields a STANDARD user may see beside a forbidden one', async () => {
      const res = await t.gql<{ viewer: { role: string } }>(org.standard.token, '{ viewer { role } activityStream { totalCount } }');
      expect(codeOf(res)).toBe('FORBIDDEN');
      expect(res.errors?.[0]?.message).not.toMatch(/UNAUTHORIZED|Access denied/);
      // activityStream is non-null, so the whole data is null: no partial leak.
      expect(res.data ?? null).toBeNull();
    });
  });

  describe('over WebSocket (graphql-ws)', () => {
    it('closes with 4401 when connectionParams carry no token', async () => {
      expect(await firstOutcome(t.ws(null))).toEqual({ closeCode: 4401 });
    });

    it.each([
      ['an unknown token', UNKNOWN],
      ['a malformed token', 'not-a-token'],
    ])('closes with 4403 for %s', async (_label, token) => {
      expect(await firstOutcome(t.ws(token))).toEqual({ closeCode: 4403 });
    });

    it('closes with 4403 for a revoked token', async () => {
      expect(await firstOutcome(t.ws(revoked))).toEqual({ closeCode: 4403 });
    });

    it('refuses an admin-only subscription to a STANDARD user before it subscribes (FORBIDDEN, not NOT_FOUND)', async () => {
      // An unknown backup id would be NOT_FOUND had the subscription's own code run: the role guard runs first.
      const sub = subscribe(t.ws(org.standard.token), 'subscription($id: ID) { backupEvents(backupId: $id) { kind } }', {
        id: '00000000-0000-4000-8000-000000000000',
      });
      await sub.next(1, 5000).catch(() => undefined);
      expect((sub.errorsSoFar()[0] as { extensions?: { code?: string } }[])?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(sub.events.filter((event) => event != null)).toEqual([]);
      sub.dispose();
    });

    it('accepts a valid token: the same client setup receives events', async () => {
      const sub = subscribe<{ notificationAdded: { title: string } }>(t.ws(org.standard.token), 'subscription { notificationAdded { title } }');
      await publishUntilReceived(
        () => sub.events.length,
        () => t.app.services.notifications.notify([org.standard.userId], { organizationId: org.organizationId, kind: 'test', title: 'hello' }),
      );
      expect(sub.errors).toEqual([]);
      expect(sub.events[0]).toEqual({ notificationAdded: { title: 'hello' } });
      sub.dispose();
    });
  });
});
