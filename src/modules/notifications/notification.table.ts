import { sql, boolean, index, pgTable, text, timestamp, uuid } from '../../db/drizzle-orm.ts';
import { organizations, users } from '../auth/auth.table.ts';

export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    title: text('title').notNull(),
    body: text('body'),
    backupId: uuid('backup_id'),
    readAt: timestamp('read_at', { withTimezone: true, precision: 3 }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    index('notifications_user_created_idx').on(t.userId, t.createdAt),
    // The unread badge counts these on every page load: a partial index keeps it a small index-only count.
    index('notifications_user_unread_idx').on(t.userId).where(sql`${t.readAt} IS NULL`),
    // The pruning job deletes by age across every organization.
    index('notifications_created_idx').on(t.createdAt),
  ],
);

/** A user's choices; no row means the defaults (email on), so 0.1 users and new users need nothing written. */
export const notificationPreferences = pgTable('notification_preferences', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  organizationId: uuid('organization_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  email: boolean('email').notNull().default(true),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});
