import { bigserial, index, jsonb, pgTable, text, timestamp, uuid } from '../../db/drizzle-orm.ts';
import { organizations, users } from '../auth/auth.table.ts';

/** Append-only: the service only ever INSERTs here (a trigger refuses UPDATE and DELETE). */
export const activityEvents = pgTable(
  'activity_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    actorId: uuid('actor_id').references(() => users.id, { onDelete: 'set null' }),
    summary: text('summary').notNull(),
    subjectType: text('subject_type'),
    subjectId: text('subject_id'),
    data: jsonb('data').$type<Record<string, unknown>>(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  // Keyset pages (newest first, by id) stay index range scans at millions of rows: one index per filter, each
  // ending in id. A subject's history (subjectId, with or without subjectType) uses the subject index.
  (t) => [
    index('activity_org_id_idx').on(t.organizationId, t.id),
    index('activity_org_subject_type_idx').on(t.organizationId, t.subjectType, t.id),
    index('activity_org_subject_id_idx').on(t.organizationId, t.subjectId, t.id),
    index('activity_org_kind_idx').on(t.organizationId, t.kind, t.id),
  ],
);
