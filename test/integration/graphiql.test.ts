import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { startTestApp } from '../support/test-app.ts';

/** A GET whose body is returned as sent (node's fetch would decompress it). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

/** GraphiQL is served by this process, whole: it must work with no internet (API.md §2). */
describe('GraphiQL', () => {
  let t: RunningTestApp;
  let html: string;
  beforeAll(async () => {
    t = await startTestApp();
    const res = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    html = await res.text();
  });
  afterAll(async () => t.close());

  it('serves the GraphiQL page to a browser without a token', () => {
    expect(html).toMatch(/<title>crm-data-admin GraphiQL<\/title>/);
    expect(html).toMatch(/graphiql/i);
    // Subscriptions need the bearer token in connection_init: the shim that copies it is in the page.
    expect(html).toContain('connection_init');
  });

  it('loads nothing from a CDN: no external src or href, no external stylesheet import', () => {
    const attributes = [...html.matchAll(/\b(?:src|href)\s*=\s*["']?\s*((?:https?:)?\/\/[^"'\s>]+)/gi)].map((m) => m[1]);
    expect(attributes).toEqual([]);
    expect(html).not.toMatch(/@import\s+(?:url\()?["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/\b(?:unpkg\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com|esm\.sh|embeddable-sandbox\.cdn\.apollographql\.com)\b/);
  });

  const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

  it('may not be framed, and admits only its own inline scripts (by hash)', async () => {
    const res = await fetch(`${t.url}/graphql`, { headers: BROWSER });
    await res.arrayBuffer();
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/(^|; )frame-ancestors 'none'(;|$)/);
    expect(csp).toMatch(/(^|; )default-src 'none'(;|$)/);
    const scriptSrc = /(?:^|; )script-src ([^;]*)/.exec(csp)?.[1] ?? '';
    expect(scriptSrc).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    const blocks = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThan(0);
    for (const body of blocks) expect(scriptSrc).toContain(`'sha256-${createHash('sha256').update(body).digest('base64')}'`);
    expect(html).not.toMatch(/<script\s[^>]*src=/);
  });

  it('does not persist the Headers tab (the token) to localStorage', () => {
    expect(html).toContain('"shouldPersistHeaders":false');
  });

  it.each([
    ['gzip', 'gzip', (b: Buffer) => gunzipSync(b)],
    ['br', 'gzip, deflate, br', (b: Buffer) => brotliDecompressSync(b)],
  ])('is served %s-compressed when the browser accepts it, much smaller than the page', async (encoding, accept, decode) => {
    // node's fetch would decode it: a raw request shows what travels.
    const { headers, body } = await rawGet(`${t.url}/graphql`, { ...BROWSER, 'accept-encoding': accept });
    expect(headers['content-encoding']).toBe(encoding);
    expect(headers.vary).toMatch(/accept-encoding/i);
    expect(body.length).toBeLessThan(Buffer.byteLength(html) / 3);
    expect(decode(body).toString('utf8')).toBe(html);
  });

  it('is sent uncompressed to a client that accepts no encoding', async () => {
    const { headers, body } = await rawGet(`${t.url}/graphql`, { ...BROWSER, 'accept-encoding': 'identity' });
    expect(headers['content-encoding']).toBeUndefined();
    expect(body.toString('utf8')).toBe(html);
  });

  it('is revalidated by ETag: a reload costs a 304 with no body', async () => {
    const first = await rawGet(`${t.url}/graphql`, { ...BROWSER, 'accept-encoding': 'gzip' });
    expect(first.headers['cache-control']).toBe('no-cache');
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await rawGet(`${t.url}/graphql`, { ...BROWSER, 'accept-encoding': 'gzip', 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers['x-frame-options']).toBe('DENY');
  });

  it.each([
    ['GET /healthz', '/healthz', {}],
    ['GET /readyz', '/readyz', {}],
    ['POST /graphql', '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }],
    ['a refused GET /graphql', '/graphql?query=%7B__typename%7D', { headers: { accept: 'application/json' } }],
    ['GraphiQL', '/graphql', { headers: BROWSER }],
    ['an unknown path', '/nope', {}],
  ] as [string, string, RequestInit][])('sends nosniff and no-referrer on %s', async (_label, route, init) => {
    const res = await fetch(`${t.url}${route}`, init);
    await res.arrayBuffer();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('answers a JSON GET (no Accept: text/html) with GraphQL, not the page', async () => {
    const res = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': '1' },
    });
    expect(res.headers.get('content-type')).toMatch(/json/);
    expect(res.status).toBe(401); // a GraphQL answer: a token is needed
  });

  it('renders in headless Chromium with every non-local request blocked', { timeout: 90_000 }, async () => {
    if (!CHROMIUM) throw new Error('This test renders GraphiQL in Chromium: install it (Debian: apt-get install chromium)');
    const profile = await mkdtemp(path.join(os.tmpdir(), 'graphiql-chromium-'));
    try {
      const { stdout, stderr } = await promisify(execFile)(
        CHROMIUM,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-dev-shm-usage',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
          // Any request that is not to this machine goes to a dead proxy: the page must not need one.
          '--proxy-server=http://127.0.0.1:9',
          `--user-data-dir=${profile}`,
          '--virtual-time-budget=15000',
          // The page's console on stderr: a script or worker the CSP blocked would be reported there.
          '--enable-logging=stderr',
          '--v=0',
          '--dump-dom',
          `${t.url}/graphql`,
        ],
        { timeout: 80_000, maxBuffer: 64 * 1024 * 1024 },
      );
      // React rendered GraphiQL's editor (absent from the served HTML, which has only a mount point).
      expect(stdout).toMatch(/class="[^"]*graphiql-container/);
      expect(stdout).toMatch(/graphiql-query-editor|graphiql-editor/);
      expect(stderr).not.toMatch(/Content Security Policy|Refused to/i);
    } finally {
      await rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    }
  });
});
