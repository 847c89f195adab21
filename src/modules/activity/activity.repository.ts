import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { activityEvents } from './activity.table.ts';

export type ActivityRow = typeof activityEvents.$inferSelect;
export type NewActivity = typeof activityEvents.$inferInsert;

export async function insertActivity(db: DbOrTx, event: NewActivity): Promise<ActivityRow> {
  const [row] = await db.insert(activityEvents).values(event).returning();
  return row!;
}

/** Newest first, keyset-paged by id; fetches limit + 1. */
export async function listActivity(
  db: DbOrTx,
  organizationId: string,
  opts: { limit: number; beforeId?: number; kinds?: string[] },
): Promise<ActivityRow[]> {
  const where = [eq(activityEvents.organizationId, organizationId)];
  if (opts.beforeId !== undefined) where.push(lt(activityEvents.id, opts.beforeId));
  if (opts.kinds && opts.kinds.length > 0) where.push(inArray(activityEvents.kind, opts.kinds));
  return db
    .select()
    .from(activityEvents)
    .where(and(...where))
    .orderBy(desc(activityEvents.id))
    .limit(opts.limit + 1);
}

export async function countActivity(db: DbOrTx, organizationId: string, kinds?: string[]): Promise<number> {
  const where = [eq(activityEvents.organizationId, organizationId)];
  if (kinds && kinds.length > 0) where.push(inArray(activityEvents.kind, kinds));
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(activityEvents).where(and(...where));
  return row?.n ?? 0;
}
