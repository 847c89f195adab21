import {
  sql,
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from '../../db/drizzle-orm.ts';
import { organizations, users } from '../auth/auth.table.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

export const backupSettings = pgTable(
  'backup_settings',
  {
    organizationId: uuid('organization_id')
      .primaryKey()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    autoBackupEnabled: boolean('auto_backup_enabled').notNull().default(false),
    frequency: text('frequency', { enum: ['WEEKLY', 'MONTHLY'] }),
    dayOfWeek: text('day_of_week'),
    dayOfMonth: smallint('day_of_month'),
    timeOfDay: text('time_of_day'),
    timezone: text('timezone'),
    updatedAt: ts('updated_at'),
    updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    check('backup_settings_dom_ck', sql`${t.dayOfMonth} is null or ${t.dayOfMonth} between 1 and 31`),
  ],
);

export type ModuleSummary = { module: string; recordCount: number };

export const backups = pgTable(
  'backups',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    trigger: text('trigger', { enum: ['MANUAL', 'SCHEDULED'] }).notNull(),
    status: text('status', {
      enum: ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'EXPIRED'],
    }).notNull(),
    requestedBy: uuid('requested_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: ts('created_at').notNull().defaultNow(),
    scheduledFor: ts('scheduled_for'),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
    processedRecords: bigint('processed_records', { mode: 'number' }).notNull().default(0),
    totalRecords: bigint('total_records', { mode: 'number' }).notNull().default(0),
    progressModule: text('progress_module'),
    modules: jsonb('modules').$type<ModuleSummary[]>().notNull().default([]),
    fileName: text('file_name'),
    storageKey: text('storage_key'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }),
    sha256: text('sha256'),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    // The pg-boss job (and its retry number) holding a RUNNING row: a retry of the same job may take the row
    // over from an attempt that died; anything else leaves it alone. `attempts` fences the writes of each attempt.
    jobId: text('job_id'),
    jobRetry: integer('job_retry'),
  },
  (t) => [
    index('backups_org_created_idx').on(t.organizationId, t.createdAt, t.id),
    // The rule "one backup of an organization runs at a time" lives here, not only in code.
    uniqueIndex('backups_one_running_uq').on(t.organizationId).where(sql`${t.status} = 'RUNNING'`),
    // At most one waiting manual backup and one waiting scheduled occurrence per organization.
    uniqueIndex('backups_one_pending_per_trigger_uq')
      .on(t.organizationId, t.trigger)
      .where(sql`${t.status} = 'PENDING'`),
    check(
      'backups_status_ck',
      sql`${t.status} in ('PENDING','RUNNING','COMPLETED','FAILED','CANCELLED','EXPIRED')`,
    ),
    check('backups_trigger_ck', sql`${t.trigger} in ('MANUAL','SCHEDULED')`),
  ],
);
