import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.ts';
import type { Topics } from '../../events/event-topics.ts';
import { notFound } from '../../shared/app-error.ts';
import type { NotificationRow } from './notification.repository.ts';
import { Notification } from './notification.types.ts';

@Resolver()
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
}
