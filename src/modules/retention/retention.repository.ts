/**
 * SQL of the retention settings, policies and single-record retention changes. Every query names the
 * organization. Raw SQL over a pg client, because the record hooks run inside crm's pg transaction.
 */
import type pg from 'pg';
import { withTransaction } from '../../db/transaction.ts';
import type { Db } from '../../db/client.ts';
import type { RetentionModule, RetentionPolicy } from './retention-dates.ts';

export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export interface SettingsRow {
  organizationId: string;
  enabled: boolean;
  noticeDays: number;
  noticeSentThrough: Date | null;
  updatedAt: Date | null;
  updatedById: string | null;
}

export interface PolicyRow extends RetentionPolicy {
  updatedAt: Date | null;
  updatedById: string | null;
}

/** What a module's records obey right now: the organization switch and the module's policy (if any). */
export interface EffectiveRules {
  orgEnabled: boolean;
  policy: PolicyRow | undefined;
  /** The organization's IANA time zone: periods are counted on its calendar. */
  timeZone: string;
}

const SETTINGS_SELECT = `organization_id as "organizationId", enabled, notice_days as "noticeDays",
  notice_sent_through as "noticeSentThrough", updated_at as "updatedAt", updated_by as "updatedById"`;

const POLICY_COLUMNS = `p.module, p.enabled, p.basis, p.retention_value, p.retention_unit, p.action, p.action_value,
  p.action_unit, p.updated_at, p.updated_by`;

interface PolicySqlRow {
  module: RetentionModule;
  enabled: boolean;
  basis: PolicyRow['basis'];
  retention_value: number;
  retention_unit: PolicyRow['retentionPeriod']['unit'];
  action: PolicyRow['action'];
  action_value: number;
  action_unit: PolicyRow['actionPeriod']['unit'];
  updated_at: Date | null;
  updated_by: string | null;
}

function toPolicy(row: PolicySqlRow): PolicyRow {
  return {
    module: row.module,
    enabled: row.enabled,
    basis: row.basis,
    retentionPeriod: { value: row.retention_value, unit: row.retention_unit },
    action: row.action,
    actionPeriod: { value: row.action_value, unit: row.action_unit },
    updatedAt: row.updated_at,
    updatedById: row.updated_by,
  };
}

export async function findSettings(db: Queryable, organizationId: string): Promise<SettingsRow | undefined> {
  const { rows } = await db.query<SettingsRow>(`select ${SETTINGS_SELECT} from retention_settings where organization_id = $1`, [
    organizationId,
  ]);
  return rows[0];
}

/**
 * The settings row, created when missing, locked against record writes (which hold FOR SHARE on it, see
 * `lockRules`): a configuration change waits for in-flight writes, and writes after it see the new rules.
 */
export async function lockSettingsForChange(db: Queryable, organizationId: string): Promise<SettingsRow> {
  await db.query('insert into retention_settings (organization_id) values ($1) on conflict do nothing', [organizationId]);
  const { rows } = await db.query<SettingsRow>(
    `select ${SETTINGS_SELECT} from retention_settings where organization_id = $1 for no key update`,
    [organizationId],
  );
  return rows[0]!;
}

export async function updateSettings(
  db: Queryable,
  organizationId: string,
  change: { enabled?: boolean; noticeDays?: number },
  by: { at: Date; userId: string },
): Promise<void> {
  await db.query(
    `update retention_settings set enabled = coalesce($2, enabled), notice_days = coalesce($3, notice_days),
       updated_at = $4, updated_by = $5
     where organization_id = $1`,
    [organizationId, change.enabled ?? null, change.noticeDays ?? null, by.at, by.userId],
  );
}

export async function findPolicies(db: Queryable, organizationId: string): Promise<PolicyRow[]> {
  const { rows } = await db.query<PolicySqlRow>(
    `select ${POLICY_COLUMNS} from retention_policies p where p.organization_id = $1 order by p.module`,
    [organizationId],
  );
  return rows.map(toPolicy);
}

export async function upsertPolicy(
  db: Queryable,
  organizationId: string,
  policy: RetentionPolicy,
  by: { at: Date; userId: string },
): Promise<PolicyRow> {
  const { rows } = await db.query<PolicySqlRow>(
    `insert into retention_policies as p (organization_id, module, enabled, basis, retention_value, retention_unit, action,
       action_value, action_unit, updated_at, updated_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     on conflict (organization_id, module) do update set enabled = excluded.enabled, basis = excluded.basis,
       retention_value = excluded.retention_value, retention_unit = excluded.retention_unit, action = excluded.action,
       action_value = excluded.action_value, action_unit = excluded.action_unit, updated_at = excluded.updated_at,
       updated_by = excluded.updated_by
     returning ${POLICY_COLUMNS}`,
    [
      organizationId,
      policy.module,
      policy.enabled,
      policy.basis,
      policy.retentionPeriod.value,
      policy.retentionPeriod.unit,
      policy.action,
      policy.actionPeriod.value,
      policy.actionPeriod.unit,
      by.at,
      by.userId,
    ],
  );
  return toPolicy(rows[0]!);
}

/**
 * The rules a module's records obey, with FOR SHARE on the settings row: many writers share it, and a
 * configuration change (FOR NO KEY UPDATE) waits for them, so no write commits dates under stale rules.
 */
export async function lockRules(db: Queryable, organizationId: string, module: RetentionModule): Promise<EffectiveRules> {
  const { rows } = await db.query<{ org_enabled: boolean; time_zone: string } & Partial<PolicySqlRow>>(
    `select s.enabled as org_enabled, o.timezone as time_zone, ${POLICY_COLUMNS}
     from retention_settings s
     join organizations o on o.id = s.organization_id
     left join retention_policies p on p.organization_id = s.organization_id and p.module = $2
     where s.organization_id = $1
     for share of s`,
    [organizationId, module],
  );
  const row = rows[0];
  if (!row) return { orgEnabled: false, policy: undefined, timeZone: await organizationTimeZone(db, organizationId) };
  return { orgEnabled: row.org_enabled, policy: row.module ? toPolicy(row as PolicySqlRow) : undefined, timeZone: row.time_zone };
}

export async function organizationTimeZone(db: Queryable, organizationId: string): Promise<string> {
  const { rows } = await db.query<{ timezone: string }>('select timezone from organizations where id = $1', [organizationId]);
  return rows[0]?.timezone ?? 'UTC';
}

/** The policy that sets dates now, or undefined when the switch or the policy is off. */
export function activePolicy(rules: EffectiveRules): PolicyRow | undefined {
  return rules.orgEnabled && rules.policy?.enabled ? rules.policy : undefined;
}

/** A transaction on one pg client, with a drizzle handle over the same client for activity and notifications. */
export function runInTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient, db: Db) => Promise<T>): Promise<T> {
  return withTransaction(pool, (tx) => work(tx.q, tx.db));
}
