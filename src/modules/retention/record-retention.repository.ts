/**
 * SQL of one record's retention: read it, set its dates by hand (CUSTOM) or back to its policy's (POLICY), legal
 * holds, unmasking from the vault. Every hand change takes a new `retention_version`, which recomputes compare.
 */
import { MODULES } from '../crm/crm.modules.ts';
import { PERSONAL_FIELDS, type PersonalField } from './masking.ts';
import { periodToPgInterval, type Period, type RetentionModule, type RetentionRules } from './retention-dates.ts';
import type { Queryable } from './retention.repository.ts';

export type RetentionStateName = 'ACTIVE' | 'EXPIRED' | 'MASKED';
export type RetentionSourceName = 'NONE' | 'POLICY' | 'CUSTOM';

export interface RecordRetentionRow {
  id: string;
  ownerId: string | null;
  retentionState: RetentionStateName;
  retentionEndsAt: Date | null;
  deletesAt: Date | null;
  maskedAt: Date | null;
  legalHold: boolean;
  retentionSource: RetentionSourceName;
}

/** A hand change's dates, where they came from, and the record's state afterwards. */
export interface RetentionChange {
  retentionEndsAt: Date;
  deletesAt: Date;
  source: Exclude<RetentionSourceName, 'NONE'>;
}

const RETENTION_RETURNING = `id, owner_id as "ownerId", retention_state as "retentionState",
  retention_ends_at as "retentionEndsAt", deletes_at as "deletesAt", masked_at as "maskedAt", legal_hold as "legalHold",
  retention_source as "retentionSource"`;

const NEXT_VERSION = `nextval('retention_version_seq')`;

// Fixed sets, never client text: safe to place in SQL.
const BASIS = { CREATED_AT: 'created_at', UPDATED_AT: 'updated_at' } as const;

export async function findRecordRetention(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  id: string,
  lock = false,
): Promise<RecordRetentionRow | undefined> {
  const { rows } = await db.query<RecordRetentionRow>(
    `select ${RETENTION_RETURNING} from ${MODULES[module].table} where organization_id = $1 and id = $2${lock ? ' for no key update' : ''}`,
    [organizationId, id],
  );
  return rows[0];
}

/**
 * The dates `rules` give the record (basis + retention period, then + action period), counted on the wall clock
 * of `timeZone`: the same SQL as a recompute, so a reset and a recompute always agree.
 */
export async function policyDatesOf(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  id: string,
  rules: RetentionRules,
  timeZone: string,
): Promise<{ retentionEndsAt: Date; deletesAt: Date }> {
  const { rows } = await db.query<{ retentionEndsAt: Date; deletesAt: Date }>(
    `select r.ret as "retentionEndsAt", ((r.ret AT TIME ZONE $5::text) + $4::interval) AT TIME ZONE $5::text as "deletesAt"
     from (select ((${BASIS[rules.basis]} AT TIME ZONE $5::text) + $3::interval) AT TIME ZONE $5::text as ret
           from ${MODULES[module].table} where organization_id = $1 and id = $2) r`,
    [organizationId, id, periodToPgInterval(rules.retentionPeriod), periodToPgInterval(rules.actionPeriod), timeZone],
  );
  return rows[0]!;
}

/** `date` + `period` on the wall clock of `timeZone` (a deletion date that moves with a hand-set retention date). */
export async function plusPeriodInZone(db: Queryable, date: Date, period: Period, timeZone: string): Promise<Date> {
  const { rows } = await db.query<{ at: Date }>(
    `select (($1::timestamptz AT TIME ZONE $3::text) + $2::interval) AT TIME ZONE $3::text as at`,
    [date, periodToPgInterval(period), timeZone],
  );
  return rows[0]!.at;
}

export async function setRecordRetention(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  id: string,
  change: RetentionChange & { state: RetentionStateName },
): Promise<RecordRetentionRow> {
  const { rows } = await db.query<RecordRetentionRow>(
    `update ${MODULES[module].table} set retention_ends_at = $3, deletes_at = $4, retention_state = $5, retention_source = $6,
       retention_version = ${NEXT_VERSION}
     where organization_id = $1 and id = $2 returning ${RETENTION_RETURNING}`,
    [organizationId, id, change.retentionEndsAt, change.deletesAt, change.state, change.source],
  );
  return rows[0]!;
}

export async function setLegalHold(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  id: string,
  hold: boolean,
): Promise<RecordRetentionRow | undefined> {
  const { rows } = await db.query<RecordRetentionRow>(
    `update ${MODULES[module].table} set legal_hold = $3 where organization_id = $1 and id = $2 returning ${RETENTION_RETURNING}`,
    [organizationId, id, hold],
  );
  return rows[0];
}

/** Puts the originals back from the vault: personal fields restored, ACTIVE, no longer masked. */
export async function restoreMaskedRecord(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  id: string,
  originals: Partial<Record<PersonalField, string | null>>,
  change: RetentionChange,
): Promise<RecordRetentionRow> {
  const params: unknown[] = [organizationId, id, change.retentionEndsAt, change.deletesAt, change.source];
  const sets = PERSONAL_FIELDS[module].map((field) => {
    params.push(originals[field] ?? null);
    return `${MODULES[module].fields[field]!.column} = $${params.length}`;
  });
  const { rows } = await db.query<RecordRetentionRow>(
    `update ${MODULES[module].table} set ${sets.join(', ')}, retention_state = 'ACTIVE', masked_at = null,
       retention_ends_at = $3, deletes_at = $4, retention_source = $5, retention_version = ${NEXT_VERSION}
     where organization_id = $1 and id = $2 returning ${RETENTION_RETURNING}`,
    params,
  );
  return rows[0]!;
}

export async function findVaultEntry(
  db: Queryable,
  organizationId: string,
  module: RetentionModule,
  recordId: string,
): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ ciphertext: Buffer }>(
    'select ciphertext from retention_vault where organization_id = $1 and module = $2 and record_id = $3',
    [organizationId, module, recordId],
  );
  return rows[0]?.ciphertext;
}

export async function deleteVaultEntry(db: Queryable, organizationId: string, module: RetentionModule, recordId: string): Promise<void> {
  await db.query('delete from retention_vault where organization_id = $1 and module = $2 and record_id = $3', [
    organizationId,
    module,
    recordId,
  ]);
}
