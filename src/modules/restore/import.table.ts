import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { organizations, users } from '../auth/auth.table.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

export type ImportRowErrorRecord = { file: string | null; row: number; message: string };

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
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    index('import_jobs_org_created_idx').on(t.organizationId, t.createdAt),
    check('import_jobs_status_ck', sql`${t.status} in ('PENDING','RUNNING','COMPLETED','FAILED')`),
  ],
);
