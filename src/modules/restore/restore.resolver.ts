import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.ts';
import { notFound } from '../../shared/app-error.ts';
import { CrmModule, type CrmModuleName } from '../crm/crm.types.ts';
import type { ImportJobRow } from './import-job.repository.ts';
import { ImportJob, toImportJob } from './restore.types.ts';

@Resolver()
export class RestoreResolver {
  @Authorized('ADMIN')
  @Query(() => ImportJob, { nullable: true, description: 'An import or restore of your organization' })
  async importJob(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ImportJob> {
    // NOT_FOUND, like lead(id): another organization's id must look exactly like one that does not exist.
    const row = await ctx.services.restore.get(ctx.viewer, id);
    if (!row) throw notFound('import job');
    return toImportJob(row);
  }

  @Authorized('ADMIN')
  @Mutation(() => ImportJob, { description: 'Restores records from a kept backup archive (all modules, or the ones given), as a job' })
  async restoreBackup(
    @Arg('id', () => ID) id: string,
    @Arg('modules', () => [CrmModule], { nullable: true }) modules: CrmModuleName[] | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ImportJob> {
    return toImportJob(await ctx.services.restore.restoreBackup(ctx.viewer, id, modules));
  }

  @Authorized('ADMIN')
  @Subscription(() => ImportJob, {
    description: 'The job now, then its progress, ending with its final counts',
    subscribe: async ({ args, context }) => {
      const ctx = context as GraphQLContext;
      return ctx.services.restore.updates(ctx.viewer, String(args.id));
    },
  })
  importJobUpdated(@Arg('id', () => ID) _id: string, @Root() row: ImportJobRow): ImportJob {
    return toImportJob(row);
  }
}
