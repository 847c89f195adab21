import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { notifications } from './notification.table.ts';

export type NotificationRow = typeof notifications.$inferSelect;
export type NewNotification = typeof notifications.$inferInsert;

export async function insertNotifications(db: DbOrTx, rows: NewNotification[]): Promise<NotificationRow[]> {
  if (rows.length === 0) return [];
  return db.insert(notifications).values(rows).returning();
}

export async function listNotifications(
  db: DbOrTx,
  userId: string,
  opts: { unreadOnly: boolean; limit: number },
): Promise<NotificationRow[]> {
  const where = [eq(notifications.userId, userId)];
  if (opts.unreadOnly) where.push(isNull(notifications.readAt));
  return db
    .select()
    .from(notifications)
    .where(and(...where))
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(opts.limit);
}

export async function findNotification(db: DbOrTx, userId: string, id: string): Promise<NotificationRow | undefined> {
  const [row] = await db.select().from(notifications).where(and(eq(notifications.userId, userId), eq(notifications.id, id)));
  return row;
}

/** Marks the user's own unread notifications (all, or those ids); returns how many changed. */
export async function markRead(db: DbOrTx, userId: string, ids: string[] | undefined): Promise<number> {
  const where = [eq(notifications.userId, userId), isNull(notifications.readAt)];
  if (ids) where.push(inArray(notifications.id, ids));
  const rows = await db
    .update(notifications)
    .set({ readAt: sql`now()` })
    .where(and(...where))
    .returning({ id: notifications.id });
  return rows.length;
}
