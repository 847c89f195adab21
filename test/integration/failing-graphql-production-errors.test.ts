import { beforeAll, describe, expect, it } from 'vitest';
import { eventNotifyQuery } from '../../src/events/event-topics.ts';
import type { TestOrg } from '../support/factories.ts';
import { publishUntilReceived, type RunningTestApp } from '../support/foundation-helpers.ts';
import { subscribe, type GraphQLResponse } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

/** Nothing about our internals may reach a client: no SQL, table names, stack frames or file paths. */
function expectOpaque(body: unknown): void {
  const text = JSON.stringify(body);
  for (const leak of [/relation/i, /select /i, /_broken/, /stack/i, /\.ts\b/, /node_modules/, /at [\w.]+ \(/, /postgres/i]) {
    expect(text).not.toMatch(leak);
  }
}

/**
 * An unexpected failure (here: a table renamed under a running app, as a broken migration or a lost database
 * would cause) answers INTERNAL_SERVER_ERROR with a fixed message in production, over HTTP and WebSocket.
 */
describe('unexpected errors in production', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({ env: { NODE_ENV: 'production' } }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    expect(t.app.services.config.production).toBe(true);
  });

  async function withTableRenamed<T>(table: string, work: () => Promise<T>): Promise<T> {
    await t.db.pool.query(`alter table ${table} rename to ${table}_broken`);
    try {
      return await work();
    } finally {
      await t.db.pool.query(`alter table ${table}_broken rename to ${table}`);
    }
  }

  it('hides a failing resolver behind "Internal server error" and keeps the other fields', async () => {
    const res = await withTableRenamed('leads', () =>
      t.gql<{ viewer: { email: string }; leads: unknown }>(org.admin.token, '{ viewer { email } leads { totalCount nodes { id } } }'),
    );
    expect(res.status).toBe(200);
    expect(res.errors).toEqual([
      { message: 'Internal server error', locations: [{ line: 1, column: 20 }], path: ['leads'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ]);
    expectOpaque(res);
  });

  it('hides a failing mutation the same way, and leaves nothing half-written', async () => {
    const res = await withTableRenamed('accounts', () =>
      t.gql(org.admin.token, 'mutation { createContact(input: { firstName: "X", accountId: "6f1d2c3b-4a59-4e8f-8a7b-9c0d1e2f3a4b" }) { id } }'),
    );
    expect(res.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['INTERNAL_SERVER_ERROR', 'Internal server error']]);
    expectOpaque(res);
    const { rows } = await t.db.pool.query("select count(*)::int as n from contacts where first_name = 'X'");
    expect(rows[0].n).toBe(0);
  });

  it('hides a failure while authenticating (the token lookup fails) with a 500 and the same message', async () => {
    // A token this process has not seen yet, so the lookup reaches the database (live tokens are cached).
    const unseen = await t.app.services.auth.createToken(org.admin.userId, 'first used while the lookup fails');
    const res = await withTableRenamed('api_tokens', () => t.gql(unseen, '{ viewer { email } }'));
    expect(res.status).toBe(500);
    expect(res.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['INTERNAL_SERVER_ERROR', 'Internal server error']]);
    expectOpaque(res);
  });

  it('still explains errors the client can act on (they are not internal)', async () => {
    const bad = await t.gql(org.admin.token, 'mutation { createDeal(input: { name: "X", amount: -1 }) { id } }');
    expect(bad.errors?.[0]).toMatchObject({ message: 'amount: must be a number greater than or equal to 0', extensions: { code: 'BAD_USER_INPUT', field: 'amount' } });
    const invalid = await t.gql(org.admin.token, '{ viewer { nope } }');
    expect(invalid.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(invalid.errors?.[0]?.message).toMatch(/nope/);
    for (const res of [bad, invalid] as GraphQLResponse<unknown>[]) expect(JSON.stringify(res)).not.toMatch(/stacktrace/);
  });

  it.each([
    ['malformed JSON', '{"query": ', 400, /JSON/],
    ['a body over 1 MB', JSON.stringify({ query: `{ viewer { id } } #${'x'.repeat(1_100_000)}` }), 413, /too large/],
  ])('answers %s with a JSON error and no stack trace', async (_label, body, status, message) => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${org.admin.token}` },
      body,
    });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const json = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(json.errors[0]!.extensions.code).toBe('BAD_REQUEST');
    expect(json.errors[0]!.message).toMatch(message);
    expectOpaque(json);
  });

  it('hides a failing subscription event over WebSocket too', async () => {
    const sub = subscribe(t.ws(org.admin.token), 'subscription { notificationAdded { id title } }');
    const notify = () =>
      t.app.services.notifications.notify([org.admin.userId], { organizationId: org.organizationId, kind: 'test', title: 'live' });
    await publishUntilReceived(() => sub.events.length + sub.errors.length, notify);
    const errors: unknown[] = [];
    // Break the table the event resolver reads, then publish an event for an existing notification id.
    await withTableRenamed('notifications', async () => {
      const event = eventNotifyQuery('notificationAdded', org.admin.userId, { notificationId: '6f1d2c3b-4a59-4e8f-8a7b-9c0d1e2f3a4b' });
      const before = sub.errors.length;
      await t.db.pool.query(event.text, event.values);
      const deadline = Date.now() + 5000;
      while (sub.errors.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      errors.push(...sub.errors.slice(before));
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toEqual([
      expect.objectContaining({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }),
    ]);
    expectOpaque(errors);
    sub.dispose();
  });
});

/** Internals reach clients only when the operator opts in: an unset NODE_ENV (`npm start`) hides them. */
describe.each([
  ['unset', '', false],
  ['development', 'development', true],
])('unexpected errors with NODE_ENV %s', (_label, nodeEnv, shown) => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({ env: { NODE_ENV: nodeEnv } }, (ready) => ({ t, org } = ready));

  it(shown ? 'shows the database message (the operator asked for it)' : 'hides them behind "Internal server error"', async () => {
    expect(t.app.services.config.exposeErrors).toBe(shown);
    expect(t.app.services.config.production).toBe(false);
    await t.db.pool.query('alter table leads rename to leads_broken');
    let res: GraphQLResponse<unknown>;
    try {
      res = await t.gql(org.admin.token, '{ viewer { email } leads { totalCount nodes { id } } }');
    } finally {
      await t.db.pool.query('alter table leads_broken rename to leads');
    }
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['INTERNAL_SERVER_ERROR']);
    if (shown) {
      expect(res.errors?.[0]?.message).toMatch(/relation "leads" does not exist/);
    } else {
      expect(res.errors?.[0]?.message).toBe('Internal server error');
      expectOpaque(res);
    }
  });
});
