import { and, count, desc, eq, inArray, isNull, lt, or, sql } from '../../db/drizzle-orm.ts';
import type { DbOrTx } from '../../db/client.ts';
import { notifications } from './notification.table.ts';

export type NotificationRow = typeof notifications.$inferSelect;
export type NewNotification = typeof notifications.$inferInsert;

export async function insertNotifications(db: DbOrTx, rows: NewNotification[]): Promise<NotificationRow[]> {
  if (rows.length === 0) return [];
  return db.insert(notifications).values(rows).returning();
}

/** Newest first; keyset-paged on (createdAt, id) after `before`; fetches `limit` rows (callers ask limit + 1). */
export async function listNotifications(
  db: DbOrTx,
  userId: string,
  opts: { unreadOnly: boolean; limit: number; before?: { createdAt: Date; id: string } },
): Promise<NotificationRow[]> {
  const where = [eq(notifications.userId, userId)];
  if (opts.unreadOnly) where.push(isNull(notifications.readAt));
  const { before } = opts;
  if (before) {
    where.push(
      or(
        lt(notifications.createdAt, before.createdAt),
        and(eq(notifications.createdAt, before.createdAt), lt(notifications.id, before.id)),
      )!,
    );
  }
  return db
    .select()
    .from(notifications)
    .where(and(...where))
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(opts.limit);
}

export async function countNotifications(db: DbOrTx, userId: string, unreadOnly: boolean): Promise<number> {
  const where = [eq(notifications.userId, userId)];
  if (unreadOnly) where.push(isNull(notifications.readAt));
  const [row] = await db.select({ n: count() }).from(notifications).where(and(...where));
  return row?.n ?? 0;
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

/**
 * Deletes notifications created before `before`, at most `limit` at a time (short transactions); returns how
 * many went. The created_at index makes each batch an index range scan.
 */
export async function pruneNotifications(db: DbOrTx, before: Date, limit: number): Promise<number> {
  const result = await db.execute(sql`
    DELETE FROM notifications WHERE id IN (
      SELECT id FROM notifications WHERE created_at < ${before} ORDER BY created_at LIMIT ${limit}
    )`);
  return result.rowCount ?? 0;
}
