import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

/** A minimal Chrome DevTools Protocol session: evaluate JavaScript in the page and await its promise. */
async function devtoolsPage(port: number): Promise<{ evaluate(expr: string): Promise<unknown>; close(): void }> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
  const page = targets.find((t) => t.type === 'page')!;
  const socket = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let nextId = 0;
  const evaluate = (expression: string) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++nextId;
      const onMessage = (raw: WebSocket.RawData) => {
        const msg = JSON.parse(raw.toString()) as { id?: number; result?: { result?: { value?: unknown }; exceptionDetails?: unknown } };
        if (msg.id !== id) return;
        socket.off('message', onMessage);
        if (msg.result?.exceptionDetails) reject(new Error(JSON.stringify(msg.result.exceptionDetails)));
        else resolve(msg.result?.result?.value);
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method: 'Runtime.evaluate', params: { expression, awaitPromise: true, returnByValue: true } }));
    });
  return { evaluate, close: () => socket.close() };
}

/**
 * What GraphiQL does when a subscription starts: open a graphql-transport-ws socket through the page's
 * `WebSocket` and send `connection_init` with its static (empty) params. Resolves with the first server
 * message type, or `closed:<code>`.
 */
const OPEN_SUBSCRIPTION_SOCKET = `new Promise((resolve) => {
  const socket = new WebSocket(location.href.replace(/^http/, 'ws'), 'graphql-transport-ws');
  socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
  socket.onmessage = (e) => { resolve(JSON.parse(e.data).type); socket.close(); };
  socket.onclose = (e) => resolve('closed:' + e.code);
})`;

describe.skipIf(!CHROMIUM)('GraphiQL subscriptions carry the token of the Headers tab', () => {
  let t: TestApp;
  let org: TestOrg;
  let chromium: ChildProcess;
  let profile: string;
  let page: Awaited<ReturnType<typeof devtoolsPage>>;

  beforeAll(async () => {
    t = await startTestApp();
    org = await createOrg(t.app);
    profile = await mkdtemp(path.join(os.tmpdir(), 'graphiql-ws-'));
    chromium = spawn(CHROMIUM!, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--proxy-server=http://127.0.0.1:9', '--remote-debugging-port=0',
      `--user-data-dir=${profile}`, `${t.url}/graphql`,
    ]);
    const port = await new Promise<number>((resolve, reject) => {
      let err = '';
      chromium.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const match = /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
        if (match) resolve(Number(match[1]));
      });
      chromium.once('exit', () => reject(new Error(`chromium exited: ${err}`)));
    });
    page = await devtoolsPage(port);
    await page.evaluate(`new Promise((r) => (document.readyState === 'complete' ? r(1) : addEventListener('load', () => r(1))))`);
  }, 90_000);

  afterAll(async () => {
    page?.close();
    chromium?.kill('SIGKILL');
    await rm(profile, { recursive: true, force: true });
    await t.close();
  });

  it('authenticates the WebSocket with the Authorization header GraphiQL keeps for the active tab', async () => {
    const headers = JSON.stringify({ Authorization: `Bearer ${org.admin.token}` });
    await page.evaluate(`localStorage.setItem('graphiql:tabState', ${JSON.stringify(JSON.stringify({ tabs: [{ headers }], activeTabIndex: 0 }))})`);
    expect(await page.evaluate(OPEN_SUBSCRIPTION_SOCKET)).toBe('connection_ack');
  });

  it('is refused (4401) when the Headers tab has no token', async () => {
    await page.evaluate(`localStorage.setItem('graphiql:tabState', JSON.stringify({ tabs: [{ headers: '{}' }], activeTabIndex: 0 }))`);
    expect(await page.evaluate(OPEN_SUBSCRIPTION_SOCKET)).toBe('closed:4401');
  });
});
