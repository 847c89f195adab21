import type { Db, DbOrTx } from '../../db/client.ts';
import type { EventBus } from '../../events/event-bus.ts';
import { badInput } from '../../shared/app-error.ts';
import { isUuid } from '../../shared/validation.ts';
import { pageSize } from '../../graphql/connection.ts';
import * as repo from './notification.repository.ts';

export interface NotificationInput {
  organizationId: string;
  kind: string;
  title: string;
  body?: string | null;
  backupId?: string | null;
}

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
}
