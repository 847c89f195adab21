import type { Db, DbOrTx } from '../../db/client.ts';
import type { EventBus } from '../../events/event-bus.ts';
import { badInput } from '../../shared/app-error.ts';
import { isUuid } from '../../shared/validation.ts';
import { decodeCursor, pageSize, toConnection, type ConnectionShape } from '../../graphql/connection.ts';
import * as repo from './notification.repository.ts';

export interface NotificationInput {
  organizationId: string;
  kind: string;
  title: string;
  body?: string | null;
  backupId?: string | null;
}

/** Notifications are kept this long (API.md §6). */
export const NOTIFICATION_RETENTION_DAYS = 90;

const NOT_A_CURSOR = 'is not a cursor returned by this list';

/** In-app notifications: stored per user, pushed live through `notificationAdded`. */
export class NotificationService {
  constructor(
    private readonly db: Db,
    private readonly events: EventBus,
  ) {}

  /**
   * Stores one notification per user. Pass the transaction of the change it reports; call `publish` with the
   * result after that transaction commits, so no client hears of a notification that does not exist.
   */
  async create(userIds: string[], input: NotificationInput, db: DbOrTx = this.db): Promise<repo.NotificationRow[]> {
    return repo.insertNotifications(
      db,
      userIds.map((userId) => ({ ...input, userId })),
    );
  }

  publish(rows: repo.NotificationRow[]): void {
    for (const row of rows) this.events.publish('notificationAdded', row.userId, { notificationId: row.id });
  }

  async notify(userIds: string[], input: NotificationInput): Promise<repo.NotificationRow[]> {
    const rows = await this.create(userIds, input);
    this.publish(rows);
    return rows;
  }

  list(userId: string, args: { unreadOnly?: boolean | null; first?: number | null }): Promise<repo.NotificationRow[]> {
    return repo.listNotifications(this.db, userId, { unreadOnly: args.unreadOnly === true, limit: pageSize(args.first) });
  }

  /** The viewer's own, newest first, keyset-paged on (createdAt, id). `after` is the plain (verified) cursor. */
  async page(
    userId: string,
    args: { unreadOnly?: boolean | null; first?: number | null; after?: string | null },
  ): Promise<ConnectionShape<repo.NotificationRow>> {
    const limit = pageSize(args.first);
    const unreadOnly = args.unreadOnly === true;
    const cursor = decodeCursor(args.after, 2);
    let before: { createdAt: Date; id: string } | undefined;
    if (cursor) {
      const [createdAt, id] = cursor;
      if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)) || typeof id !== 'string' || !isUuid(id)) {
        throw badInput('after', NOT_A_CURSOR);
      }
      before = { createdAt: new Date(createdAt), id };
    }
    const rows = await repo.listNotifications(this.db, userId, { unreadOnly, limit: limit + 1, before });
    return toConnection(
      rows,
      limit,
      (r) => r,
      (r) => [r.createdAt.toISOString(), r.id],
      () => repo.countNotifications(this.db, userId, unreadOnly),
    );
  }

  unreadCount(userId: string): Promise<number> {
    return repo.countNotifications(this.db, userId, true);
  }

  get(userId: string, id: string): Promise<repo.NotificationRow | undefined> {
    return repo.findNotification(this.db, userId, id);
  }

  markRead(userId: string, ids: string[] | null | undefined): Promise<number> {
    if (ids) {
      const bad = ids.find((id) => !isUuid(id));
      if (bad !== undefined) throw badInput('ids', 'must be ids of your notifications');
    }
    return repo.markRead(this.db, userId, ids ?? undefined);
  }

  /** Deletes notifications older than `before`, in batches; returns how many went. */
  async prune(before: Date, batch = 5_000): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await repo.pruneNotifications(this.db, before, batch);
      total += n;
      if (n < batch) return total;
    }
  }
}
