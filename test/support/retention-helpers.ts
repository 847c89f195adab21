import type pg from 'pg';
import type { App } from '../../src/app.ts';
import { RETENTION_RECOMPUTE_QUEUE, RETENTION_SWEEP_QUEUE } from '../../src/modules/retention/retention.jobs.ts';
import type { GraphQLResponse } from './test-app.ts';

type Gql = <T = Record<string, unknown>>(token: string | null, query: string, variables?: Record<string, unknown>) => Promise<GraphQLResponse<T>>;

/** The data of a response that must succeed; a clear failure otherwise. */
export async function gqlOk<T = Record<string, unknown>>(gql: Gql, token: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await gql<T>(token, query, variables);
  if (res.errors) throw new Error(`GraphQL failed: ${JSON.stringify(res.errors)}`);
  return res.data!;
}

/**
 * The 5-minute cron sweep runs on real time, whatever a test's ManualClock says: a test that counts what its own
 * sweeps do removes the schedule from its (private) database first.
 */
export async function stopCronSweep(app: App): Promise<void> {
  await app.services.boss.unschedule(RETENTION_SWEEP_QUEUE);
}

/** Waits until no recompute job is queued or running (polls pg-boss's table; no fixed sleeps). */
export async function waitForRecompute(pool: pg.Pool, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ n: number; failed: number }>(
      `select count(*) filter (where state in ('created', 'retry', 'active'))::int as n,
              count(*) filter (where state = 'failed')::int as failed
       from pgboss.job where name = $1`,
      [RETENTION_RECOMPUTE_QUEUE],
    );
    if (rows[0]!.failed > 0) throw new Error('a retention recompute job failed');
    if (rows[0]!.n === 0) return;
    if (Date.now() > deadline) throw new Error('retention recompute jobs did not finish in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface PolicyArgs {
  module: 'LEADS' | 'CONTACTS';
  enabled?: boolean;
  basis?: 'CREATED_AT' | 'UPDATED_AT';
  retentionPeriod: { value: number; unit: string };
  action: 'MASK' | 'DELETE';
  actionPeriod: { value: number; unit: string };
}

export const UPDATE_POLICY = `mutation($input: RetentionPolicyInput!) { updateRetentionPolicy(input: $input) {
  module enabled basis retentionPeriod { value unit } action actionPeriod { value unit } updatedAt updatedBy { id } } }`;
export const SET_ENABLED = `mutation($enabled: Boolean!) { setRetentionEnabled(enabled: $enabled) { enabled } }`;
export const UPDATE_RECORD_RETENTION = `mutation($module: CrmModule!, $id: ID!, $at: DateTimeISO!) {
  updateRecordRetention(module: $module, id: $id, retentionEndsAt: $at) { state retentionEndsAt deletesAt maskedAt legalHold } }`;
export const PREVIEW = `query($input: RetentionPolicyInput!) { retentionPreview(input: $input) {
  module activeRecords expiredNow actionDueNow actionDueWithin30Days deletionDueNow deletionDueWithin30Days } }`;

/** Turns the organization switch on and sets one policy, then waits for the records' dates. */
export async function applyPolicy(gql: Gql, pool: pg.Pool, adminToken: string, policy: PolicyArgs): Promise<void> {
  await gqlOk(gql, adminToken, SET_ENABLED, { enabled: true });
  await gqlOk(gql, adminToken, UPDATE_POLICY, { input: { enabled: true, ...policy } });
  await waitForRecompute(pool);
}

export interface SeedContact {
  createdAt: string;
  ownerId?: string | null;
  legalHold?: boolean;
}

/**
 * Contacts inserted straight into the table (set-based, fast), each with distinct personal values derived from
 * its index: first name `First<i>`, email `first<i>.last@example.com`, phone `+65 9000 <i>`.
 */
export async function insertContacts(pool: pg.Pool, organizationId: string, contacts: SeedContact[]): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `insert into contacts (organization_id, owner_id, first_name, last_name, email, phone, job_title, address, notes,
       created_at, updated_at, legal_hold)
     select $1, c.owner_id, 'First' || c.i, 'Last' || c.i, 'first' || c.i || '.last@example.com', '+65 9000 ' || lpad(c.i::text, 4, '0'),
       'Engineer', c.i || ' Orchard Road', 'Met at event ' || c.i, c.created_at, c.created_at, c.legal_hold
     from unnest($2::uuid[], $3::timestamptz[], $4::boolean[]) with ordinality as c(owner_id, created_at, legal_hold, i)
     returning id`,
    [organizationId, contacts.map((c) => c.ownerId ?? null), contacts.map((c) => c.createdAt), contacts.map((c) => c.legalHold ?? false)],
  );
  return rows.map((r) => r.id);
}

export async function insertLeads(pool: pg.Pool, organizationId: string, leads: SeedContact[]): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `insert into leads (organization_id, owner_id, first_name, last_name, email, phone, company, notes, created_at, updated_at, legal_hold)
     select $1, c.owner_id, 'Lead' || c.i, 'Person' || c.i, 'lead' || c.i || '@example.org', '+1 555 01' || lpad(c.i::text, 2, '0'),
       'Acme', 'Lead notes ' || c.i, c.created_at, c.created_at, c.legal_hold
     from unnest($2::uuid[], $3::timestamptz[], $4::boolean[]) with ordinality as c(owner_id, created_at, legal_hold, i)
     returning id`,
    [organizationId, leads.map((c) => c.ownerId ?? null), leads.map((c) => c.createdAt), leads.map((c) => c.legalHold ?? false)],
  );
  return rows.map((r) => r.id);
}

export async function stateCounts(pool: pg.Pool, table: 'leads' | 'contacts', organizationId: string): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ state: string; n: number }>(
    `select retention_state as state, count(*)::int as n from ${table} where organization_id = $1 group by 1`,
    [organizationId],
  );
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

export async function count(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(sql, params);
  return rows[0]!.n;
}

/** Sum of the counts in the sweep's per-batch activity events (of one pass, or all). */
export async function batchActivityTotal(pool: pg.Pool, organizationId: string, pass?: string): Promise<number> {
  return count(
    pool,
    `select coalesce(sum((data->>'count')::int), 0)::int as n from activity_events
     where organization_id = $1 and kind = 'retention.sweep_batch' and ($2::text is null or data->>'pass' = $2)`,
    [organizationId, pass ?? null],
  );
}

export const SAVE_SETTINGS = `mutation($input: RetentionSettingsInput!) { saveRetentionSettings(input: $input) {
  enabled recomputing policies { module enabled basis retentionPeriod { value unit } action actionPeriod { value unit } updatedAt } } }`;
export const SET_RECORD_RETENTION = `mutation($module: CrmModule!, $id: ID!, $at: DateTimeISO!) {
  updateRecordRetention(module: $module, id: $id, retentionEndsAt: $at) { state retentionEndsAt deletesAt maskedAt legalHold source canEdit } }`;
export const RESET_RECORD_RETENTION = `mutation($module: CrmModule!, $id: ID!) {
  resetRecordRetention(module: $module, id: $id) { state retentionEndsAt deletesAt maskedAt legalHold source canEdit } }`;
export const CONTACT_RETENTION = `query($id: ID!) { contact(id: $id) { id firstName
  retention { state retentionEndsAt deletesAt maskedAt legalHold source canEdit } } }`;

export interface RetentionView {
  state: string;
  retentionEndsAt: string | null;
  deletesAt: string | null;
  maskedAt: string | null;
  legalHold: boolean;
  source: string;
  canEdit: boolean;
}

/** A contact's first name and retention as `token`'s user sees them. */
export async function contactRetention(gql: Gql, token: string, id: string): Promise<{ firstName: string | null; retention: RetentionView }> {
  const data = await gqlOk<{ contact: { firstName: string | null; retention: RetentionView } }>(gql, token, CONTACT_RETENTION, { id });
  return data.contact;
}

/** A CONTACTS policy input (MASK unless told), as the settings form sends it. */
export function contactsPolicy(retention: { value: number; unit: string }, over: Partial<PolicyArgs> = {}): PolicyArgs & { enabled: boolean } {
  return { module: 'CONTACTS', enabled: true, retentionPeriod: retention, action: 'MASK', actionPeriod: { value: 30, unit: 'DAYS' }, ...over };
}
