import { describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import { codeOf, type TestApp } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

describe('authentication and roles over HTTP', () => {
  let t: TestApp;
  let org: TestOrg;
  useOrgApp({}, (ready) => ({ t, org } = ready));

  it('answers viewer and organization for a valid token', async () => {
    const res = await t.gql<{ viewer: { email: string; role: string }; organization: { id: string; name: string; timezone: string } }>(
      org.admin.token,
      '{ viewer { email role } organization { id name timezone } }',
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.viewer).toEqual({ email: org.admin.email, role: 'ADMIN' });
    expect(res.data?.organization).toEqual({ id: org.organizationId, name: org.name, timezone: 'Asia/Singapore' });
  });

  it.each([
    ['no token', null],
    ['an unknown token', 'cda_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a malformed token', 'not-a-token'],
  ])('refuses %s with UNAUTHENTICATED and 401', async (_label, token) => {
    const res = await t.gql(token, '{ viewer { email } }');
    expect(res.status).toBe(401);
    expect(codeOf(res)).toBe('UNAUTHENTICATED');
    expect(res.data ?? null).toBeNull();
  });

  it('refuses a revoked token', async () => {
    const token = await t.app.services.auth.createToken(org.standard.userId, 'to revoke');
    expect(codeOf(await t.gql(token, '{ viewer { email } }'))).toBeUndefined();
    expect(await t.app.services.auth.revokeToken(token)).toBe(true);
    const res = await t.gql(token, '{ viewer { email } }');
    expect(codeOf(res)).toBe('UNAUTHENTICATED');
  });

  it('lets an ADMIN read the activity stream and refuses a STANDARD user with FORBIDDEN', async () => {
    const admin = await t.gql(org.admin.token, '{ activityStream { totalCount } }');
    expect(admin.errors).toBeUndefined();
    const standard = await t.gql(org.standard.token, '{ activityStream { totalCount } }');
    expect(codeOf(standard)).toBe('FORBIDDEN');
    expect(standard.data ?? null).toBeNull();
  });
});
