import type pg from 'pg';

/**
 * Proves a subscription is live without guessing a delay: publishes, waits a moment for an event, and
 * publishes again until one arrives. graphql-ws acknowledges the connection before the server has registered
 * the subscription, so the first publish may legitimately be missed.
 */
export async function publishUntilReceived(
  received: () => number,
  publish: () => Promise<unknown>,
  { attempts = 40, intervalMs = 150 } = {},
): Promise<void> {
  const start = received();
  for (let i = 0; i < attempts; i++) {
    await publish();
    const deadline = Date.now() + intervalMs;
    while (Date.now() < deadline) {
      if (received() > start) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  throw new Error(`no event received after ${attempts} publishes`);
}

/** Every row of the CRM tables, for "nothing changed in the database" assertions. */
export async function crmSnapshot(pool: pg.Pool): Promise<Record<string, unknown[]>> {
  const snapshot: Record<string, unknown[]> = {};
  for (const table of ['leads', 'contacts', 'accounts', 'deals']) {
    const { rows } = await pool.query(`select * from ${table} order by id`);
    snapshot[table] = rows;
  }
  return snapshot;
}

export async function countRows(pool: pg.Pool, table: string, organizationId?: string): Promise<number> {
  const { rows } = organizationId
    ? await pool.query<{ n: number }>(`select count(*)::int as n from ${table} where organization_id = $1`, [organizationId])
    : await pool.query<{ n: number }>(`select count(*)::int as n from ${table}`);
  return rows[0]!.n;
}

type Gql = <T = Record<string, unknown>>(
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
) => Promise<{ data?: T; errors?: { message: string; extensions?: { code?: string; field?: string } }[] }>;

export interface OrgRecords {
  accountId: string;
  contactId: string;
  leadId: string;
  dealId: string;
}

/** One record of each module through the API (contact → account, deal → account + contact). */
export async function createRecords(gql: Gql, token: string, label: string): Promise<OrgRecords> {
  const created = async (query: string, input: Record<string, unknown>): Promise<string> => {
    const res = await gql<Record<string, { id: string }>>(token, query, { input });
    if (res.errors) throw new Error(`setup failed: ${JSON.stringify(res.errors)}`);
    return Object.values(res.data!)[0]!.id;
  };
  const accountId = await created('mutation($input: AccountInput!) { createAccount(input: $input) { id } }', {
    name: `${label} Pte Ltd`,
    domain: `${label.toLowerCase()}.example.com`,
  });
  const contactId = await created('mutation($input: ContactInput!) { createContact(input: $input) { id } }', {
    firstName: `${label}first`,
    lastName: `${label}last`,
    email: `${label.toLowerCase()}@example.com`,
    accountId,
  });
  const leadId = await created('mutation($input: LeadInput!) { createLead(input: $input) { id } }', {
    firstName: `${label}lead`,
    email: `lead.${label.toLowerCase()}@example.com`,
  });
  const dealId = await created('mutation($input: DealInput!) { createDeal(input: $input) { id } }', {
    name: `${label} deal`,
    amount: 1000,
    currency: 'SGD',
    closeDate: '2026-06-30',
    accountId,
    contactId,
  });
  return { accountId, contactId, leadId, dealId };
}

/** What startTestApp returns (the TestApp plus its database). */
export type RunningTestApp = Awaited<ReturnType<typeof import('./test-app.ts').startTestApp>>;
