import { sql, check, index, integer, jsonb, pgTable, text, timestamp, uuid } from '../../db/drizzle-orm.ts';
import { organizations, users } from '../auth/auth.table.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

export type ImportRowErrorRecord = { file: string | null; row: number; message: string };
/** The last committed row of the `table`-th table read (files and sheets come in a fixed order): a rerun resumes after it. */
export type ImportCheckpoint = { table: number; row: number };

export const importJobs = pgTable(
  'import_jobs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    requestedBy: uuid('requested_by').references(() => users.id, { onDelete: 'set null' }),
    module: text('module'),
    modules: jsonb('modules').$type<string[]>(),
    sourceKind: text('source_kind', { enum: ['UPLOAD', 'BACKUP'] }).notNull(),
    sourceKey: text('source_key').notNull(),
    /** CSV, XLSX or ZIP (a backup archive). */
    format: text('format', { enum: ['CSV', 'XLSX', 'ZIP'] }).notNull(),
    fileName: text('file_name'),
    status: text('status', { enum: ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED'] })
      .notNull()
      .default('PENDING'),
    processedRows: integer('processed_rows').notNull().default(0),
    created: integer('created').notNull().default(0),
    updated: integer('updated').notNull().default(0),
    skipped: integer('skipped').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    errors: jsonb('errors').$type<ImportRowErrorRecord[]>().notNull().default([]),
    error: text('error'),
    checkpoint: jsonb('checkpoint').$type<ImportCheckpoint>(),
    /** Runs started (pg-boss retries after a crash); the importer gives up after a few. */
    attempts: integer('attempts').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    index('import_jobs_org_created_idx').on(t.organizationId, t.createdAt),
    check('import_jobs_status_ck', sql`${t.status} in ('PENDING','RUNNING','COMPLETED','FAILED')`),
    check('import_jobs_format_ck', sql`${t.format} in ('CSV','XLSX','ZIP')`),
    check('import_jobs_source_ck', sql`${t.sourceKind} in ('UPLOAD','BACKUP')`),
    check('import_jobs_module_ck', sql`${t.module} is null or ${t.module} in ('LEADS','CONTACTS','ACCOUNTS','DEALS')`),
  ],
);
