import { Arg, Authorized, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.ts';
import { forbidden } from '../../shared/app-error.ts';
import { User } from '../auth/auth.types.ts';
import { findPreferences, NotificationPreferences, savePreferences } from './notification-preferences.ts';

@Resolver(() => User)
export class NotificationPreferencesResolver {
  @FieldResolver(() => NotificationPreferences, { description: "The viewer's own only (FORBIDDEN on another user)" })
  notificationPreferences(@Root() user: User, @Ctx() ctx: GraphQLContext): Promise<NotificationPreferences> {
    if (user.id !== ctx.viewer.userId) throw forbidden("Only a user's own notification preferences can be read");
    return findPreferences(ctx.services.pool, user.id);
  }

  @Authorized()
  @Mutation(() => NotificationPreferences, { description: "The viewer's own" })
  updateNotificationPreferences(@Arg('email', () => Boolean) email: boolean, @Ctx() ctx: GraphQLContext): Promise<NotificationPreferences> {
    return savePreferences(ctx.services.pool, ctx.viewer, { email }, ctx.services.clock.now());
  }
}
