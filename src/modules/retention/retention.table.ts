import {
  sql,
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  pgSequence,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from '../../db/drizzle-orm.ts';
import { organizations, users } from '../auth/auth.table.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });
const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

export const retentionSettings = pgTable('retention_settings', {
  organizationId: uuid('organization_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  enabled: boolean('enabled').notNull().default(false),
  /** How many days ahead admins are told of records about to be masked or deleted (0 = no advance notice). */
  noticeDays: integer('notice_days').notNull().default(7),
  /** The advance notice covers records due before this instant: each due day is announced once, not every sweep. */
  noticeSentThrough: ts('notice_sent_through'),
  updatedAt: ts('updated_at'),
  updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
}, (t) => [check('retention_settings_notice_days_ck', sql`${t.noticeDays} between 0 and 90`)]);

export const retentionPolicies = pgTable(
  'retention_policies',
  {
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    module: text('module', { enum: ['LEADS', 'CONTACTS'] }).notNull(),
    enabled: boolean('enabled').notNull().default(false),
    basis: text('basis', { enum: ['CREATED_AT', 'UPDATED_AT'] }).notNull(),
    retentionValue: integer('retention_value').notNull(),
    retentionUnit: text('retention_unit', { enum: ['DAYS', 'WEEKS', 'MONTHS', 'YEARS'] }).notNull(),
    action: text('action', { enum: ['MASK', 'DELETE'] }).notNull(),
    actionValue: integer('action_value').notNull(),
    actionUnit: text('action_unit', { enum: ['DAYS', 'WEEKS', 'MONTHS', 'YEARS'] }).notNull(),
    updatedAt: ts('updated_at'),
    updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    primaryKey({ columns: [t.organizationId, t.module] }),
    check('retention_policies_module_ck', sql`${t.module} in ('LEADS','CONTACTS')`),
    check('retention_policies_value_ck', sql`${t.retentionValue} between 1 and 1000`),
    check('retention_policies_action_value_ck', sql`${t.actionValue} between 0 and 1000`),
  ],
);

/** Originals of masked fields, encrypted (AES-256-GCM); never exported, never logged. */
export const retentionVault = pgTable(
  'retention_vault',
  {
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    module: text('module').notNull(),
    recordId: uuid('record_id').notNull(),
    ciphertext: bytea('ciphertext').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.module, t.recordId] })],
);

/** What retention deleted, so that a restore does not bring it back. No personal data. */
export const tombstones = pgTable(
  'tombstones',
  {
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    module: text('module').notNull(),
    recordId: uuid('record_id').notNull(),
    deletedAt: ts('deleted_at').notNull().defaultNow(),
    reason: text('reason').notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.module, t.recordId] })],
);

/** The numbers of `retention_version` (crm.table.ts) and of `retention_recomputes.as_of`: one order for both. */
export const retentionVersionSeq = pgSequence('retention_version_seq');

/**
 * One row per recompute or clearing job of record dates, finished in the job's last transaction (with its
 * `retentionSettingsChanged` event). `RetentionSettings.recomputing` reads the unfinished rows whose job is live.
 */
export const retentionRecomputes = pgTable(
  'retention_recomputes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    module: text('module').notNull(),
    /** Records changed by hand after this number (retention_version > as_of) are left as they are. */
    asOf: bigint('as_of', { mode: 'number' }).notNull(),
    jobId: uuid('job_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('retention_recomputes_open_idx').on(t.organizationId).where(sql`${t.finishedAt} is null`)],
);
