/**
 * SQL of the sweep. Each batch locks its rows with FOR UPDATE SKIP LOCKED (a row another sweep or a user holds
 * is skipped, never waited for or processed twice) and pages by (created_at, id), so a pass reads the module
 * once, in about the order its rows lie on disk.
 * PostgreSQL re-checks the WHERE clause on a row that changed since the statement's snapshot before locking it,
 * so a row that a concurrent sweep has just masked or deleted no longer qualifies.
 */
import { MODULES } from '../crm/crm.modules.ts';
import { maskSqlExpressions, PERSONAL_FIELDS, type PersonalField } from './masking.ts';
import type { RetentionModule } from './retention-dates.ts';
import { AFTER_CURSOR, type Cursor } from './retention-records.repository.ts';
import type { Queryable } from './retention.repository.ts';

export interface Page {
  after: Cursor;
  limit: number;
}

/** A processed record: its id, and its place in the keyset order. */
export interface Processed {
  id: string;
  createdAt: Date;
}

export interface SweepTarget {
  organizationId: string;
  module: RetentionModule;
  action: 'MASK' | 'DELETE';
}

/** Modules whose organization switch and policy are both on (one organization, or all). */
export async function findSweepTargets(db: Queryable, organizationId?: string): Promise<SweepTarget[]> {
  const { rows } = await db.query<SweepTarget>(
    `select p.organization_id as "organizationId", p.module, p.action
     from retention_policies p join retention_settings s on s.organization_id = p.organization_id
     where s.enabled and p.enabled and ($1::uuid is null or p.organization_id = $1)
     order by p.organization_id, p.module`,
    [organizationId ?? null],
  );
  return rows;
}

/** ACTIVE → EXPIRED at the retention date (DELETE policies: the grace period begins). */
export async function expireBatch(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  page: Page,
  now: Date,
): Promise<Processed[]> {
  const table = MODULES[module].table;
  const { rows } = await db.query<Processed>(
    `with batch as (
       select id from ${table}
       where organization_id = $1 and ${AFTER_CURSOR} and retention_state = 'ACTIVE' and retention_ends_at <= $5
         and not legal_hold
       order by created_at, id limit $4 for update skip locked)
     update ${table} t set retention_state = 'EXPIRED' from batch where t.organization_id = $1 and t.id = batch.id
     returning t.id, t.created_at as "createdAt"`,
    [organizationId, page.after.createdAt, page.after.id, page.limit, now],
  );
  return rows;
}

/** A locked record's personal fields, and where its row lies (`ctid`, stable while this transaction holds the lock). */
export type PersonalValues = Processed & { rowId: string } & Partial<Record<PersonalField, string | null>>;

/**
 * Locks the next records due for masking and returns their personal fields. Records whose deletion date has
 * come too are left to the delete pass: masking them first would only write a vault entry to delete.
 */
export async function lockMaskBatch(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  page: Page,
  now: Date,
): Promise<PersonalValues[]> {
  const fields = PERSONAL_FIELDS[module].map((f) => `${MODULES[module].fields[f]!.column} as "${f}"`).join(', ');
  const { rows } = await db.query<PersonalValues>(
    `select id, created_at as "createdAt", ctid::text as "rowId", ${fields} from ${MODULES[module].table}
     where organization_id = $1 and ${AFTER_CURSOR} and retention_state in ('ACTIVE', 'EXPIRED')
       and retention_ends_at <= $5 and (deletes_at is null or deletes_at > $5) and not legal_hold
     order by created_at, id limit $4 for update skip locked`,
    [organizationId, page.after.createdAt, page.after.id, page.limit, now],
  );
  return rows;
}

export async function insertVaultEntries(
  db: Queryable,
  organizationId: string,
  module: RetentionModule,
  entries: { recordId: string; ciphertext: Buffer }[],
  now: Date,
): Promise<void> {
  if (entries.length === 0) return;
  // One binary parameter holding every blob back to back (cut with substring) travels and parses far faster
  // than a bytea[] literal, whose elements pg sends as escaped hex text.
  const starts: number[] = [];
  let offset = 1;
  for (const e of entries) {
    starts.push(offset);
    offset += e.ciphertext.length;
  }
  // A leftover entry (a record masked again after an unmask) holds older originals: the current ones win.
  await db.query(
    `insert into retention_vault (organization_id, module, record_id, ciphertext, created_at)
     select $1, $2, r.id, substring($4::bytea from r.start for r.length), $7
     from unnest($3::uuid[], $5::int[], $6::int[]) as r(id, start, length)
     on conflict (organization_id, module, record_id) do update set ciphertext = excluded.ciphertext,
       created_at = excluded.created_at`,
    [
      organizationId,
      module,
      entries.map((e) => e.recordId),
      Buffer.concat(entries.map((e) => e.ciphertext)),
      starts,
      entries.map((e) => e.ciphertext.length),
      now,
    ],
  );
}

/**
 * Rewrites the personal fields of locked rows as masked renderings (masking.ts, same text as in TS). The rows are
 * found by their ctid (a TID scan: no primary-key descent per row, whose random uuid order misses the buffer cache
 * more as the table grows); the locks taken by lockMaskBatch keep every ctid valid until the transaction ends.
 */
export async function maskRows(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  rowIds: string[],
  now: Date,
): Promise<number> {
  const sets = Object.entries(maskSqlExpressions(module)).map(([column, expression]) => `${column} = ${expression}`);
  const result = await db.query(
    `update ${MODULES[module].table} set ${sets.join(', ')}, retention_state = 'MASKED', masked_at = $3
     where ctid = any($2::tid[]) and organization_id = $1`,
    [organizationId, rowIds, now],
  );
  return result.rowCount ?? 0;
}

/**
 * Deletes the next records whose deletion date has come and leaves tombstones. Their vault entries go with them
 * (the database's `*_forget_vault` triggers, migration 0007).
 */
export async function deleteBatch(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  page: Page,
  now: Date,
  reason: string,
): Promise<Processed[]> {
  const table = MODULES[module].table;
  const { rows } = await db.query<Processed>(
    `with batch as (
       select ctid from ${table}
       where organization_id = $1 and ${AFTER_CURSOR} and deletes_at <= $5 and not legal_hold
       order by created_at, id limit $4 for update skip locked
     ), gone as (
       -- By ctid (locked above, so it cannot change): a TID probe per row instead of a primary-key descent.
       delete from ${table} t where t.ctid = any(array(select ctid from batch)) and t.organization_id = $1
       returning t.id, t.created_at
     ), tomb as (
       insert into tombstones (organization_id, module, record_id, deleted_at, reason)
       select $1, $6, id, $5, $7 from gone on conflict do nothing
     )
     select id, created_at as "createdAt" from gone`,
    [organizationId, page.after.createdAt, page.after.id, page.limit, now, module, reason],
  );
  return rows;
}

/** Fresh planner statistics for the vault and the module's table after a large masking pass. */
export async function analyzeAfterMasking(db: Queryable, module: RetentionModule): Promise<void> {
  await db.query(`analyze retention_vault, ${MODULES[module].table}`);
}

/**
 * Claims the advance-notice window up to `horizon` for the organization: returns where the previous notice
 * ended (null: never), or undefined when a notice already covers the horizon (sent earlier, or by a concurrent
 * sweep: the row lock makes the second claimant see the first one's value).
 */
export async function claimNoticeWindow(
  db: Queryable,
  organizationId: string,
  horizon: Date,
): Promise<{ previous: Date | null } | undefined> {
  const { rows } = await db.query<{ previous: Date | null }>(
    `update retention_settings s set notice_sent_through = $2
     from (select organization_id, notice_sent_through as previous from retention_settings
           where organization_id = $1 for no key update) old
     where s.organization_id = old.organization_id and (old.previous is null or old.previous < $2)
     returning old.previous`,
    [organizationId, horizon],
  );
  return rows[0];
}

/** Records of a module whose masking (MASK policies) or deletion falls in (from, to]; legal holds excluded. */
export async function countDueBetween(
  db: Queryable,
  module: RetentionModule,
  organizationId: string,
  action: 'MASK' | 'DELETE',
  from: Date,
  to: Date,
): Promise<{ mask: number; delete: number }> {
  const { rows } = await db.query<{ mask: number; delete: number }>(
    `select count(*) filter (where $4 = 'MASK' and retention_state <> 'MASKED' and retention_ends_at > $2
                               and retention_ends_at <= $3)::int as mask,
            count(*) filter (where deletes_at > $2 and deletes_at <= $3)::int as delete
     from ${MODULES[module].table}
     where organization_id = $1 and not legal_hold
       and ((retention_ends_at > $2 and retention_ends_at <= $3) or (deletes_at > $2 and deletes_at <= $3))`,
    [organizationId, from, to, action],
  );
  return rows[0]!;
}
