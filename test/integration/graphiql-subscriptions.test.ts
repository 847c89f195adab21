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

type Page = Awaited<ReturnType<typeof devtoolsPage>>;
const CTRL = 2;
const SHIFT = 8;

/** A minimal Chrome DevTools Protocol session on the page: commands, JavaScript evaluation, WebSocket close codes. */
async function devtoolsPage(port: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(targets.find((t) => t.type === 'page')!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let nextId = 0;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  const frames: string[] = [];
  const logs: string[] = [];
  socket.on('message', (raw: WebSocket.RawData) => {
    const msg = JSON.parse(raw.toString()) as {
      id?: number;
      method?: string;
      params?: { response?: { payloadData?: string }; entry?: { text?: string } };
      result?: unknown;
      error?: unknown;
    };
    if (msg.method === 'Network.webSocketFrameReceived') frames.push(msg.params!.response!.payloadData!);
    // The browser reports what the Content-Security-Policy blocked here.
    if (msg.method === 'Log.entryAdded') logs.push(msg.params!.entry!.text ?? '');
    if (msg.id === undefined || !pending.has(msg.id)) return;
    const call = pending.get(msg.id)!;
    pending.delete(msg.id);
    if (msg.error) call.reject(new Error(JSON.stringify(msg.error)));
    else call.resolve(msg.result);
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  const evaluate = async (expression: string): Promise<unknown> => {
    const result = (await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })) as {
      result?: { value?: unknown };
      exceptionDetails?: unknown;
    };
    if (result.exceptionDetails) throw new Error(JSON.stringify(result.exceptionDetails));
    return result.result?.value;
  };
  await send('Network.enable');
  await send('Log.enable');
  return { send, evaluate, frames, logs, close: () => socket.close() };
}

/** Polls an expression in the page until it is truthy; its value. */
async function waitFor(page: Page, expression: string, what: string, timeoutMs = 20_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await page.evaluate(expression);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Clicks the middle of the first element matching a selector (or holding a text), as a mouse would. */
async function click(page: Page, selector: string, text?: string): Promise<void> {
  const find = `[...document.querySelectorAll(${JSON.stringify(selector)})].find((e) => ${text === undefined ? 'true' : `e.textContent.trim() === ${JSON.stringify(text)}`})`;
  const box = (await waitFor(page, `(() => { const r = ${find}?.getBoundingClientRect(); return r && r.width > 0 && { x: r.x + r.width / 2, y: r.y + Math.min(r.height / 2, 10) }; })()`, selector)) as { x: number; y: number };
  for (const type of ['mousePressed', 'mouseReleased']) await page.send('Input.dispatchMouseEvent', { type, x: box.x, y: box.y, button: 'left', clickCount: 1 });
}

async function press(page: Page, key: string, code: string, keyCode: number, modifiers = 0): Promise<void> {
  for (const type of ['keyDown', 'keyUp']) await page.send('Input.dispatchKeyEvent', { type, key, code, windowsVirtualKeyCode: keyCode, modifiers });
}

/**
 * Replaces the text of the editor under a selector: click into it, select all (Ctrl+A), delete, type; then, like a
 * person tidying up, delete what the editor's bracket and quote auto-closing added after the cursor.
 */
async function typeInto(page: Page, selector: string, text: string): Promise<void> {
  await click(page, `${selector} .view-lines`);
  await press(page, 'a', 'KeyA', 65, CTRL);
  await press(page, 'Delete', 'Delete', 46);
  await page.send('Input.insertText', { text });
  await press(page, 'End', 'End', 35, CTRL | SHIFT);
  await press(page, 'Delete', 'Delete', 46);
  const typed = await page.evaluate(`document.querySelector(${JSON.stringify(`${selector} .view-lines`)}).innerText`);
  expect(String(typed).replace(/\s+/g, ' ')).toBe(text);
}

/** The response pane's text (Monaco shows spaces as no-break spaces). */
const RESPONSE_TEXT = `(document.querySelector('.graphiql-response')?.innerText ?? '').replace(/\\s+/g, ' ')`;

/** What a person does: open GraphiQL afresh, write the operation, type the Headers tab, press Run. */
async function runInGraphiQL(page: Page, url: string, operation: string, headers: string): Promise<void> {
  await page.send('Page.navigate', { url: `${url}/graphql` });
  await waitFor(page, `document.readyState === 'complete' && !!document.querySelector('.graphiql-query-editor .view-lines')`, 'GraphiQL');
  await typeInto(page, '.graphiql-query-editor', operation);
  // GraphiQL parses the editor a moment after typing; Run before that executes the previous document (a query,
  // over HTTP). The tab takes the operation's name once parsed: a person sees it, and so does this wait.
  const name = /^(?:query|mutation|subscription)\s+(\w+)/.exec(operation)?.[1];
  if (name) await waitFor(page, `[...document.querySelectorAll('.graphiql-tab-button')].some((b) => b.textContent.trim() === ${JSON.stringify(name)})`, `the tab named ${name}`);
  const headersShown = `document.querySelector('button[data-name="headers"]')?.classList.contains('active')`;
  if (!(await page.evaluate(headersShown))) await click(page, 'button[data-name="headers"]');
  await typeInto(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden)', headers);
  page.frames.length = 0;
  await click(page, '.graphiql-execute-button');
}

describe('GraphiQL subscriptions carry the token of the Headers tab', () => {
  let t: TestApp;
  let org: TestOrg;
  let chromium: ChildProcess;
  let profile: string;
  let page: Page;

  beforeAll(async () => {
    t = await startTestApp();
    org = await createOrg(t.app);
    profile = await mkdtemp(path.join(os.tmpdir(), 'graphiql-ws-'));
    if (!CHROMIUM) throw new Error('These tests drive GraphiQL in Chromium: install it (Debian: apt-get install chromium)');
    chromium = spawn(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--proxy-server=http://127.0.0.1:9', '--remote-debugging-port=0',
      '--window-size=1400,1000', `--user-data-dir=${profile}`, 'about:blank',
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
  }, 90_000);

  afterAll(async () => {
    page?.close();
    chromium?.kill('SIGKILL');
    // Chromium's helper processes may still be writing to the profile for a moment.
    await rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    await t.close();
  });

  it('authenticates the WebSocket with the Authorization header typed into the Headers tab', { timeout: 60_000 }, async () => {
    await runInGraphiQL(page, t.url, 'subscription Mine { notificationAdded { title } }', JSON.stringify({ Authorization: `Bearer ${org.admin.token}` }));
    const deadline = Date.now() + 30_000;
    // Until the subscription is set up server-side, a notification is not heard: send one until one arrives.
    while (!((await page.evaluate(RESPONSE_TEXT)) as string).includes('from the server')) {
      if (Date.now() > deadline) throw new Error(`no event in GraphiQL; it shows: ${String(await page.evaluate(RESPONSE_TEXT))}; frames: ${page.frames.join(' ')}`);
      await t.app.services.notifications.notify([org.admin.userId], { organizationId: org.organizationId, kind: 'test', title: 'from the server' });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(page.frames.map((f) => (JSON.parse(f) as { type: string }).type)[0]).toBe('connection_ack');
  });

  it('is refused (4401) when the Headers tab has no token', { timeout: 60_000 }, async () => {
    await runInGraphiQL(page, t.url, 'subscription Mine { notificationAdded { title } }', '{}');
    const shown = (await waitFor(page, `(${RESPONSE_TEXT}).includes('4401') && ${RESPONSE_TEXT}`, 'the refusal')) as string;
    expect(shown).toContain('"code": 4401');
    expect(shown).toContain('Send an API token');
    expect(page.frames).toEqual([]); // the server acknowledged nothing
  });

  it('keeps the token typed into the Headers tab out of localStorage', { timeout: 60_000 }, async () => {
    const token = org.admin.token;
    await runInGraphiQL(page, t.url, 'query Me { viewer { email } }', JSON.stringify({ Authorization: `Bearer ${token}` }));
    await waitFor(page, `(${RESPONSE_TEXT}).includes(${JSON.stringify(org.admin.email)})`, 'the answer');
    // GraphiQL saves its tabs a moment after a change: give it that moment, then read what it kept.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stored = (await page.evaluate(
      `Object.keys(localStorage).map((k) => [k, k.includes(${JSON.stringify(token)}) || String(localStorage.getItem(k)).includes(${JSON.stringify(token)})])`,
    )) as [string, boolean][];
    expect(stored.length).toBeGreaterThan(0); // GraphiQL did save its state: the right storage was read
    expect(stored.filter(([, holdsToken]) => holdsToken).map(([key]) => key)).toEqual([]);
  });

  it('ran every step above under the page\'s Content-Security-Policy, with nothing blocked', () => {
    expect(page.logs.filter((text) => /Content Security Policy|Refused to/i.test(text))).toEqual([]);
  });
});
