import { and, desc, eq, inArray, lt, sql } from '../../db/drizzle-orm.ts';
import type { SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { activityEvents } from './activity.table.ts';

export type ActivityRow = typeof activityEvents.$inferSelect;
export type NewActivity = typeof activityEvents.$inferInsert;

export async function insertActivity(db: DbOrTx, event: NewActivity): Promise<ActivityRow> {
  const [row] = await db.insert(activityEvents).values(event).returning();
  return row!;
}

export interface ActivityFilter {
  kinds?: string[];
  subjectType?: string;
  subjectId?: string;
}

function whereOf(organizationId: string, filter: ActivityFilter): SQL[] {
  const where = [eq(activityEvents.organizationId, organizationId)];
  if (filter.kinds && filter.kinds.length > 0) where.push(inArray(activityEvents.kind, filter.kinds));
  if (filter.subjectType !== undefined) where.push(eq(activityEvents.subjectType, filter.subjectType));
  if (filter.subjectId !== undefined) where.push(eq(activityEvents.subjectId, filter.subjectId));
  return where;
}

/**
 * Newest first, keyset-paged by id; fetches limit + 1. Every filter has an index that ends in `id`
 * (activity.table.ts), so a page is an index range scan however long the stream grows.
 */
export async function listActivity(
  db: DbOrTx,
  organizationId: string,
  opts: ActivityFilter & { limit: number; beforeId?: number },
): Promise<ActivityRow[]> {
  const where = whereOf(organizationId, opts);
  if (opts.beforeId !== undefined) where.push(lt(activityEvents.id, opts.beforeId));
  return db
    .select()
    .from(activityEvents)
    .where(and(...where))
    .orderBy(desc(activityEvents.id))
    .limit(opts.limit + 1);
}

export async function countActivity(db: DbOrTx, organizationId: string, filter: ActivityFilter): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(activityEvents).where(and(...whereOf(organizationId, filter)));
  return row?.n ?? 0;
}
