import { GRAPHQL_TRANSPORT_WS_PROTOCOL } from 'graphql-ws';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { TestOrg } from '../support/factories.ts';
import { publishUntilReceived, type RunningTestApp } from '../support/foundation-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';
import { subscribe } from '../support/test-app.ts';

const MAX_CONNECTIONS = 3;
const MAX_SUBSCRIPTIONS = 2;

/** A raw graphql-transport-ws socket, open; its close code is recorded whenever the server ends it. */
async function openSocket(url: string) {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/graphql`, GRAPHQL_TRANSPORT_WS_PROTOCOL);
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  // A write cut short by the server's close (the oversized message) surfaces as an error: the close code says why.
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', () => reject(new Error('upgrade refused')));
  });
  return { socket, closed };
}

/** Sends connection_init with a token; resolves with 'ack' or the close code the server answered with. */
async function connect(url: string, token: string): Promise<{ outcome: 'ack' | number; socket: WebSocket }> {
  const { socket, closed } = await openSocket(url);
  const acked = new Promise<'ack'>((resolve) =>
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') resolve('ack');
    }),
  );
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  return { outcome: await Promise.race([acked, closed]), socket };
}

describe('WebSocket limits (hostile or runaway clients)', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp(
    {
      env: {
        // Short enough to wait for, long enough for a 2 MB message to arrive on a loaded machine.
        WS_INIT_TIMEOUT_MS: '2000',
        WS_MAX_CONNECTIONS_PER_TOKEN: String(MAX_CONNECTIONS),
        WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: String(MAX_SUBSCRIPTIONS),
      },
    },
    (ready) => ({ t, org } = ready),
  );
  let tokenFor: (name: string) => Promise<string>;
  beforeAll(() => {
    tokenFor = (name) => t.app.services.auth.createToken(org.standard.userId, name);
  });

  it('refuses a 2 MB connection_init before authentication (1009) and keeps answering /healthz', async () => {
    const { socket, closed } = await openSocket(t.url);
    const huge = 'x'.repeat(2 * 1024 * 1024);
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${huge}` } }));
    expect(await closed).toBe(1009);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it('closes a socket that never sends connection_init with 4408', async () => {
    const { closed } = await openSocket(t.url);
    expect(await closed).toBe(4408);
  });

  it('refuses the connection over the per-token cap with 4429 while another token still connects', async () => {
    const token = await tokenFor('many sockets');
    const admitted = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) admitted.push(await connect(t.url, token));
    expect(admitted.map((c) => c.outcome)).toEqual(Array(MAX_CONNECTIONS).fill('ack'));
    expect((await connect(t.url, token)).outcome).toBe(4429);
    const other = await connect(t.url, await tokenFor('another token'));
    expect(other.outcome).toBe('ack');

    // A closed socket frees its place (the count follows the server's close event, so allow it a moment).
    admitted[0]!.socket.close();
    let again = await connect(t.url, token);
    for (let i = 0; i < 20 && again.outcome !== 'ack'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      again = await connect(t.url, token);
    }
    expect(again.outcome).toBe('ack');
    for (const c of [...admitted, other, again]) c.socket.close();
  });

  it('refuses the subscription over the per-socket cap with TOO_MANY_SUBSCRIPTIONS; the earlier ones keep working', async () => {
    const client = t.ws(await tokenFor('many subscriptions'));
    const query = 'subscription { notificationAdded { title } }';
    const live = Array.from({ length: MAX_SUBSCRIPTIONS }, () => subscribe<{ notificationAdded: { title: string } }>(client, query));
    // The earlier subscriptions are registered on the server once an event reaches them.
    await publishUntilReceived(
      () => Math.min(...live.map((s) => s.events.length)),
      () => t.app.services.notifications.notify([org.standard.userId], { organizationId: org.organizationId, kind: 'test', title: 'warm-up' }),
    );
    const refused = subscribe(client, query);
    const deadline = Date.now() + 5_000;
    while (refused.errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(refused.errors).toEqual([[expect.objectContaining({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } })]]);

    // Counted by title: a late copy of a repeated warm-up must not pass for the event published now.
    const afterCount = (s: (typeof live)[number]) => s.events.filter((e) => e.notificationAdded.title === 'after').length;
    await publishUntilReceived(
      () => Math.min(...live.map(afterCount)),
      () => t.app.services.notifications.notify([org.standard.userId], { organizationId: org.organizationId, kind: 'test', title: 'after' }),
    );
    for (const s of live) {
      expect(s.errors).toEqual([]);
      expect(s.events).toContainEqual({ notificationAdded: { title: 'after' } });
    }
    for (const s of [...live, refused]) s.dispose();
  });

  it('refuses an invalid document each time it is sent (only valid documents are kept parsed), then runs a valid one', async () => {
    const client = t.ws(await tokenFor('invalid twice'));
    const invalid = 'subscription { notificationAdded { noSuchField } }';
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const refused = subscribe(client, invalid);
      const deadline = Date.now() + 5_000;
      while (refused.errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(refused.errors).toEqual([[expect.objectContaining({ message: expect.stringContaining('noSuchField') })]]);
    }
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const ok = subscribe<{ viewer: { id: string } }>(client, '{ viewer { id } }');
      const deadline = Date.now() + 5_000;
      while (ok.events.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(ok.events).toEqual([{ viewer: { id: org.standard.userId } }]);
    }
    client.dispose();
  });

  it('refuses a document over the token cap with QUERY_TOO_COMPLEX before validating it, and the socket stays usable', async () => {
    const client = t.ws(await tokenFor('big document'));
    const bomb = `{ ${Array.from({ length: 3_000 }, (_, i) => `a${i}: contacts { totalCount }`).join(' ')} }`;
    const refused = subscribe(client, bomb);
    const deadline = Date.now() + 10_000;
    while (refused.errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(refused.errors).toEqual([[expect.objectContaining({ message: 'Query is too large: more than 5000 tokens', extensions: { code: 'QUERY_TOO_COMPLEX' } })]]);
    const ok = subscribe<{ viewer: { id: string } }>(client, '{ viewer { id } }');
    while (ok.events.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(ok.events).toEqual([{ viewer: { id: org.standard.userId } }]);
    client.dispose();
  });
});
