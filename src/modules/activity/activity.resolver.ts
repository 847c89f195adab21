import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.ts';
import { signedPage, type ConnectionShape } from '../../graphql/connection.ts';
import { User } from '../auth/auth.types.ts';
import type { ActivityRow } from './activity.repository.ts';
import { ActivityEvent, ActivityEventConnection } from './activity.types.ts';

@Resolver(() => ActivityEvent)
export class ActivityResolver {
  @Authorized('ADMIN')
  @Query(() => ActivityEventConnection, { description: 'Newest first' })
  activityStream(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('kinds', () => [String], { nullable: true }) kinds: string[] | null,
    @Arg('subjectType', () => String, { nullable: true, description: 'One of the fixed ActivityEvent.subjectType values' })
    subjectType: string | null,
    @Arg('subjectId', () => ID, { nullable: true }) subjectId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ConnectionShape<ActivityRow>> {
    return signedPage(ctx.services.appSecret, 'activityStream', after, (plain) =>
      ctx.services.activity.list(ctx.viewer.organizationId, { first, after: plain, kinds, subjectType, subjectId }),
    );
  }

  @FieldResolver(() => User, { nullable: true })
  actor(@Root() event: ActivityRow, @Ctx() ctx: GraphQLContext): Promise<User | null> | null {
    return event.actorId ? ctx.users.load(event.actorId) : null;
  }
}
