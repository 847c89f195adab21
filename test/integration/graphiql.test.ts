import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { startTestApp } from '../support/test-app.ts';

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
      const { stdout } = await promisify(execFile)(
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
          '--dump-dom',
          `${t.url}/graphql`,
        ],
        { timeout: 80_000, maxBuffer: 64 * 1024 * 1024 },
      );
      // React rendered GraphiQL's editor (absent from the served HTML, which has only a mount point).
      expect(stdout).toMatch(/class="[^"]*graphiql-container/);
      expect(stdout).toMatch(/graphiql-query-editor|graphiql-editor/);
    } finally {
      await rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    }
  });
});
