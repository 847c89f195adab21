import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import { useOrgApp } from '../support/org-app.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const ALLOWED = 'https://app.example.com';
const OTHER = 'https://evil.example.net';
const API_PATHS = ['/graphql', '/imports', '/downloads/backups/00000000-0000-0000-0000-000000000000'];

function preflight(url: string, origin: string, method = 'POST'): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization, content-type, apollo-require-preflight',
    },
  });
}

const corsHeaders = (res: Response): string[] => [...res.headers.keys()].filter((h) => h.startsWith('access-control-'));

describe('CORS_ORIGINS unset', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  it.each(API_PATHS)('answers no preflight and sends no CORS header on %s', async (path) => {
    const res = await preflight(`${t.url}${path}`, ALLOWED);
    expect(corsHeaders(res)).toEqual([]);
    const get = await fetch(`${t.url}${path}`, { headers: { origin: ALLOWED } });
    expect(corsHeaders(get)).toEqual([]);
  });
});

describe('CORS_ORIGINS set', () => {
  let t: TestApp;
  let org: TestOrg;
  useOrgApp({ env: { CORS_ORIGINS: `${ALLOWED}, http://localhost:5173` } }, (ready) => ({ t, org } = ready));

  it.each(API_PATHS)('answers a preflight of a listed origin on %s: 204, allowed headers', async (path) => {
    const res = await preflight(`${t.url}${path}`, ALLOWED);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('vary')).toMatch(/\borigin\b/i);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,HEAD,POST,OPTIONS');
    const allowedHeaders = res.headers.get('access-control-allow-headers')?.split(',') ?? [];
    for (const h of ['authorization', 'content-type', 'x-requested-with', 'apollo-require-preflight']) {
      expect(allowedHeaders).toContain(h);
    }
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it.each(API_PATHS)('gives an unlisted origin no CORS header on %s', async (path) => {
    const res = await preflight(`${t.url}${path}`, OTHER);
    expect(corsHeaders(res)).toEqual([]);
    expect(res.headers.get('vary')).toMatch(/\borigin\b/i);
    const get = await fetch(`${t.url}${path}`, { headers: { origin: OTHER } });
    expect(corsHeaders(get)).toEqual([]);
  });

  it('lets a page on a listed origin run a query and read the exposed headers', async () => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { origin: ALLOWED, 'content-type': 'application/json', authorization: `Bearer ${org.admin.token}` },
      body: JSON.stringify({ query: '{ viewer { email } }' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const exposed = res.headers.get('access-control-expose-headers')?.split(',') ?? [];
    expect(exposed).toEqual(expect.arrayContaining(['content-disposition', 'retry-after', 'x-request-id']));
    expect(await res.json()).toEqual({ data: { viewer: { email: org.admin.email } } });
  });

  it('keeps refusing a simple cross-site request, even from a listed origin (CSRF)', async () => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { origin: ALLOWED, 'content-type': 'text/plain', authorization: `Bearer ${org.admin.token}` },
      body: JSON.stringify({ query: '{ viewer { email } }' }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/i);
  });

  it('sends no CORS header on health, readiness or the GraphiQL page', async () => {
    for (const [path, accept] of [
      ['/healthz', 'application/json'],
      ['/readyz', 'application/json'],
      ['/graphql', 'text/html'],
    ] as const) {
      const res = await fetch(`${t.url}${path}`, { headers: { origin: ALLOWED, accept } });
      expect(res.status, path).toBe(200);
      expect(corsHeaders(res), path).toEqual([]);
    }
    for (const path of ['/healthz', '/readyz']) {
      expect(corsHeaders(await preflight(`${t.url}${path}`, ALLOWED, 'GET')), path).toEqual([]);
    }
  });
});
