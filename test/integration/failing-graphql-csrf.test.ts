import { describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';

/**
 * Apollo's CSRF prevention must stay on: a browser can send a "simple" request (GET, or a POST with a
 * text/plain body) cross-site without a preflight, with the victim's cookies or a GraphiQL tab's headers.
 */
describe('CSRF prevention', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({}, (ready) => ({ t, org } = ready));

  const query = encodeURIComponent('{ viewer { email } }');

  it('refuses a GET query without a preflight header (400), even with a valid token', async () => {
    const res = await fetch(`${t.url}/graphql?query=${query}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${org.admin.token}` },
    });
    const body = await res.text();
    expect(res.status).toBe(400);
    expect(body).toMatch(/CSRF/i);
    expect(body).not.toContain(org.admin.email);
  });

  it('refuses a POST with content-type text/plain (400) and executes nothing', async () => {
    const before = await t.db.pool.query('select count(*)::int as n from accounts');
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${org.admin.token}` },
      body: JSON.stringify({ query: 'mutation { createAccount(input: { name: "CSRF" }) { id } }' }),
    });
    expect(res.status).toBe(400);
    const body = await res.text();
    expect(body).toMatch(/CSRF/i);
    expect(body).not.toContain('"createAccount"');
    const after = await t.db.pool.query('select count(*)::int as n from accounts');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('serves the same GET query once the client sends a preflight-forcing header', async () => {
    const res = await fetch(`${t.url}/graphql?query=${query}`, {
      headers: {
        accept: 'application/json',
        authorization: `Bearer ${org.admin.token}`,
        'apollo-require-preflight': 'true',
      },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { viewer: { email: org.admin.email } } });
  });
});
