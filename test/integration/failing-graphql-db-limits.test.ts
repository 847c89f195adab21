import type { FormattedExecutionResult } from 'graphql';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import { countRows, type RunningTestApp } from '../support/foundation-helpers.ts';
import { codeOf } from '../support/test-app.ts';
import { useOrgApp } from '../support/org-app.ts';

/** Another session holding `contacts` in ACCESS EXCLUSIVE mode: every statement on it waits (a slow query). */
async function lockContacts(url: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('begin; lock table contacts in access exclusive mode');
  return {
    release: async () => {
      await client.query('commit');
      await client.end();
    },
  };
}

/** Statements of the app waiting on a lock right now, seen by PostgreSQL itself. */
async function appStatementsWaitingOnLocks(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name like 'crm-data-admin%' and wait_event_type = 'Lock'`,
  );
  return rows[0]!.n;
}

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('GraphQL statement timeout (GRAPHQL_STATEMENT_TIMEOUT_MS)', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({ env: { GRAPHQL_STATEMENT_TIMEOUT_MS: '400' } }, (ready) => ({ t, org } = ready));
  const query = '{ contacts(first: 1) { totalCount nodes { id } } }';

  it('cancels a slow query with QUERY_TIMEOUT, no SQL in the answer, and then answers again', async () => {
    const lock = await lockContacts(t.db.url);
    try {
      const res = await t.gql(org.standard.token, query);
      expect(codeOf(res)).toBe('QUERY_TIMEOUT');
      expect(res.errors![0]!.message).toMatch(/ran longer than this server allows and was cancelled/);
      expect(res.errors![0]!.extensions).toEqual({ code: 'QUERY_TIMEOUT' });
      expect(JSON.stringify(res)).not.toMatch(/select |canceling statement/i);
    } finally {
      await lock.release();
    }
    const after = await t.gql(org.standard.token, query);
    expect(after.errors).toBeUndefined();
  });

  it('cancels a slow mutation (its own transaction) and writes nothing', async () => {
    const before = await countRows(t.db.pool, 'contacts', org.organizationId);
    const lock = await lockContacts(t.db.url);
    try {
      const res = await t.gql(org.admin.token, 'mutation { createContact(input: { firstName: "Slow", lastName: "Write" }) { id } }');
      expect(codeOf(res)).toBe('QUERY_TIMEOUT');
    } finally {
      await lock.release();
    }
    expect(await countRows(t.db.pool, 'contacts', org.organizationId)).toBe(before);
  });

  it('cancels a slow query sent over the WebSocket the same way', async () => {
    const lock = await lockContacts(t.db.url);
    try {
      const client = t.ws(org.standard.token);
      const result = await new Promise<FormattedExecutionResult>((resolve, reject) => {
        client.subscribe({ query }, { next: resolve, error: reject, complete: () => undefined });
      });
      expect(result.errors?.[0]?.extensions).toEqual({ code: 'QUERY_TIMEOUT' });
    } finally {
      await lock.release();
    }
  });

  it('sets the timeout per transaction only: no pooled connection keeps it for jobs and other work', async () => {
    await t.gql(org.standard.token, query); // leaves its connections in the pool
    const settings = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.app.services.pool.query<{ s: string }>("select current_setting('statement_timeout') as s, pg_sleep(0.02)"),
      ),
    );
    expect(new Set(settings.map((r) => r.rows[0]!.s))).toEqual(new Set(['0']));
  });
});

describe('GraphQL database work per organization (GRAPHQL_DB_CONCURRENCY_PER_ORG)', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  let other: TestOrg;
  useOrgApp({ orgs: 2, env: { GRAPHQL_DB_CONCURRENCY_PER_ORG: '2', GRAPHQL_STATEMENT_TIMEOUT_MS: '30000' } }, (ready) => {
    ({ t, org, other } = ready);
  });

  it("holds one organization to its share of the pool while another organization's queries run", async () => {
    const lock = await lockContacts(t.db.url);
    const slots = t.app.services.dbGovernor.slots;
    const pending: Promise<unknown>[] = [];
    let ownAccountsAnswered = false;
    try {
      for (let i = 0; i < 5; i++) pending.push(t.gql(org.standard.token, '{ contacts(first: 1) { nodes { id } } }'));
      await until(() => slots.inUse(org.organizationId) === 2 && slots.waiting(org.organizationId) === 3, 'the queue');
      await until(async () => (await appStatementsWaitingOnLocks(t.db.pool)) === 2, 'two blocked statements');
      // The organization's next query, even on another table, waits for one of its own slots...
      pending.push(t.gql(org.standard.token, '{ accounts(first: 1) { totalCount } }').then((r) => ((ownAccountsAnswered = true), r)));
      // ...while the other organization is answered at once.
      const res = await t.gql(other.standard.token, '{ accounts(first: 1) { totalCount } }');
      expect(res.errors).toBeUndefined();
      expect(await appStatementsWaitingOnLocks(t.db.pool)).toBe(2);
      expect(ownAccountsAnswered).toBe(false);
    } finally {
      await lock.release();
    }
    const answers = (await Promise.all(pending)) as { errors?: unknown }[];
    expect(answers.map((a) => a.errors)).toEqual(Array(6).fill(undefined));
    expect(slots.inUse(org.organizationId)).toBe(0);
  });
});
