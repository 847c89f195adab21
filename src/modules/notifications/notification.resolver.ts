import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.ts';
import { signedPage, type ConnectionShape } from '../../graphql/connection.ts';
import type { Topics } from '../../events/event-topics.ts';
import { notFound } from '../../shared/app-error.ts';
import { Backup, type BackupRow } from '../backup/backup.types.ts';
import type { NotificationRow } from './notification.repository.ts';
import { Notification, NotificationConnection } from './notification.types.ts';

@Resolver(() => Notification)
export class NotificationResolver {
  @Authorized()
  @Query(() => [Notification], { description: "The viewer's own, newest first" })
  notifications(
    @Arg('unreadOnly', () => Boolean, { nullable: true }) unreadOnly: boolean | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<NotificationRow[]> {
    return ctx.services.notifications.list(ctx.viewer.userId, { unreadOnly, first });
  }

  @Authorized()
  @Query(() => NotificationConnection, { description: "The viewer's own, newest first" })
  notificationsConnection(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('unreadOnly', () => Boolean, { nullable: true }) unreadOnly: boolean | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ConnectionShape<NotificationRow>> {
    return signedPage(ctx.services.appSecret, 'notificationsConnection', after, (plain) =>
      ctx.services.notifications.page(ctx.viewer.userId, { first, after: plain, unreadOnly }),
    );
  }

  @Authorized()
  @Query(() => Int, { description: "The viewer's unread notifications (for a badge)" })
  unreadNotificationCount(@Ctx() ctx: GraphQLContext): Promise<number> {
    return ctx.services.notifications.unreadCount(ctx.viewer.userId);
  }

  @Authorized()
  @Mutation(() => Int, { description: "Marks the viewer's notifications read (all when no ids); returns how many changed" })
  markNotificationsRead(
    @Arg('ids', () => [ID], { nullable: true }) ids: string[] | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<number> {
    return ctx.services.notifications.markRead(ctx.viewer.userId, ids);
  }

  @Authorized()
  @Subscription(() => Notification, {
    description: "The viewer's own notifications as they arrive",
    subscribe: ({ context }) => {
      const ctx = context as GraphQLContext;
      return ctx.services.pubsub.subscribe('notificationAdded', ctx.viewer.userId);
    },
  })
  async notificationAdded(
    @Root() event: Topics['notificationAdded'][1],
    @Ctx() ctx: GraphQLContext,
  ): Promise<NotificationRow> {
    const row = await ctx.services.notifications.get(ctx.viewer.userId, event.notificationId);
    if (!row) throw notFound('notification');
    return row;
  }

  @FieldResolver(() => Backup, { nullable: true, description: 'ADMIN viewers only (null for others)' })
  async backup(@Root() row: NotificationRow, @Ctx() ctx: GraphQLContext): Promise<BackupRow | null> {
    return (await backupOf(row, ctx)) ?? null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: "A fresh signed link, each time it is read, while the notification's backup is downloadable and the viewer is ADMIN",
  })
  async downloadUrl(@Root() row: NotificationRow, @Ctx() ctx: GraphQLContext): Promise<string | null> {
    const backup = await backupOf(row, ctx);
    return (backup && ctx.services.backups.signedLink(backup)?.url) ?? null;
  }
}

/** The notification's backup, loaded within the viewer's organization, for ADMIN viewers only. */
async function backupOf(row: NotificationRow, ctx: GraphQLContext): Promise<BackupRow | undefined> {
  if (ctx.viewer.role !== 'ADMIN' || !row.backupId) return undefined;
  return ctx.services.backups.get(ctx.viewer.organizationId, row.backupId);
}
