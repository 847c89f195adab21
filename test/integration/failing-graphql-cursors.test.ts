import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor, signCursor } from '../../src/graphql/connection.ts';
import type { TestOrg } from '../support/factories.ts';
import { createRecords, type RunningTestApp } from '../support/foundation-helpers.ts';
import { TEST_SECRET } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

const UUID = '6f1d2c3b-4a59-4e8f-8a7b-9c0d1e2f3a4b';
/** The reported attack: a position PostgreSQL cannot read ("1" passes Date.parse, fails as a timestamptz). */
const HOSTILE = encodeCursor(['1', UUID]);
const LISTS = ['contacts', 'leads', 'accounts', 'deals', 'backups', 'activityStream'];

/**
 * Every `after:` argument accepts only a cursor this server signed for that list: anything else (garbage, a
 * hand-made tuple, a tampered payload, another server's or another list's signature) is BAD_USER_INPUT naming
 * `after`, and nothing else — never INTERNAL_SERVER_ERROR, never SQL. NODE_ENV is unset here, as with `npm start`.
 */
describe('tampered cursors', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  const genuine = new Map<string, string>();
  useOrgApp({ env: { NODE_ENV: '' } }, (ready) => ({ t, org } = ready));
  beforeAll(async () => {
    expect(t.app.services.config.exposeErrors).toBe(false);
    await createRecords(t.gql, org.admin.token, 'Cursor');
    await createRecords(t.gql, org.admin.token, 'Second');
    for (const list of LISTS) {
      const res = await t.gql<Record<string, { pageInfo: { endCursor: string | null } }>>(
        org.admin.token,
        `{ ${list}(first: 1) { pageInfo { endCursor } } }`,
      );
      // An empty list (no backup, no activity yet): a position as the server would have signed it stands in.
      const position = list === 'activityStream' ? [1] : [new Date().toISOString(), UUID];
      genuine.set(list, res.data![list]!.pageInfo.endCursor ?? signCursor(TEST_SECRET, list, encodeCursor(position)));
    }
  });

  const query = (list: string) => `query($after: String) { ${list}(first: 5, after: $after) { totalCount nodes { id } pageInfo { endCursor } } }`;

  it.each(LISTS)('%s accepts the cursors it signed', async (list) => {
    const res = await t.gql(org.admin.token, query(list), { after: genuine.get(list) });
    expect(res.errors).toBeUndefined();
  });

  const forgeries: [string, (list: string) => string][] = [
    ['garbage', () => 'not a cursor!'],
    ['empty', () => ''],
    ['a lone dot', () => '.'],
    ['a huge string', () => 'A'.repeat(100_000)],
    ['an unsigned hand-made tuple', () => HOSTILE],
    ['an unsigned plain cursor', (list) => genuine.get(list)!.split('.')[0]!],
    ['a tampered payload under a genuine signature', (list) => `${HOSTILE}.${genuine.get(list)!.split('.')[1]}`],
    ['a truncated signature', (list) => genuine.get(list)!.slice(0, -2)],
    ['a cursor signed with another secret', (list) => signCursor('another-secret-0123456789abcdef0123456789', list, HOSTILE)],
    ["another list's genuine cursor", (list) => genuine.get(list === 'contacts' ? 'leads' : 'contacts')!],
  ];

  describe.each(LISTS)('%s', (list) => {
    it.each(forgeries)('refuses %s with BAD_USER_INPUT naming after, and nothing else', async (_label, forge) => {
      const res = await t.gql(org.admin.token, query(list), { after: forge(list) });
      expect(res.errors).toEqual([
        expect.objectContaining({ message: 'after: is not a cursor returned by this list', extensions: { code: 'BAD_USER_INPUT', field: 'after' } }),
      ]);
      expect(res.data ?? null).toBeNull();
      expect(JSON.stringify(res)).not.toMatch(/select |relation|postgres|timestamp|stack/i);
    });
  });

  it('still answers after the forgeries', async () => {
    const res = await t.gql(org.admin.token, '{ viewer { email } }');
    expect(res.errors).toBeUndefined();
  });
});
