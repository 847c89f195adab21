import { describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';

/** GraphQL answers are per viewer: no shared or browser cache may keep one (Apollo's cache-control plugin is off). */
describe('GraphQL answers are never cached', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({}, (ready) => ({ t, org } = ready));

  const post = (token: string, query: string) =>
    fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });

  it('sends cache-control: no-store with an answer', async () => {
    const res = await post(org.standard.token, '{ contacts(first: 1) { nodes { id } } }');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('sends cache-control: no-store with a refused operation too', async () => {
    const res = await post(org.standard.token, '{ noSuchField }');
    expect(res.status).toBe(400);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
