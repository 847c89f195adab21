import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.ts';
import { notFound } from '../../shared/app-error.ts';
import { findOrganization } from './auth.repository.ts';
import { Organization, User } from './auth.types.ts';

@Resolver()
export class AuthResolver {
  @Authorized()
  @Query(() => User, { description: 'The user behind the API token' })
  async viewer(@Ctx() ctx: GraphQLContext): Promise<User> {
    const user = await ctx.users.load(ctx.viewer.userId);
    if (!user) throw notFound('user');
    return user;
  }

  @Authorized()
  @Query(() => Organization)
  async organization(@Ctx() ctx: GraphQLContext): Promise<Organization> {
    const organization = await findOrganization(ctx.services.db, ctx.viewer.organizationId);
    if (!organization) throw notFound('organization');
    return organization;
  }
}
