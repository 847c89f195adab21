import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.ts';
import { User } from '../auth/auth.types.ts';
import type { UserRow } from '../auth/auth.repository.ts';
import { recordRetention } from '../crm/crm.resolver.ts';
import { CrmModule, RecordRetention, type CrmModuleName } from '../crm/crm.types.ts';
import type { RecordRetentionRow } from './retention-records.repository.ts';
import type { PreviewView, SettingsView } from './retention.service.ts';
import { RetentionPolicy, RetentionPolicyInput, RetentionPreview, RetentionSettings, RetentionSettingsInput } from './retention.types.ts';
import type { PolicyRow } from './retention.repository.ts';

@Resolver(() => RetentionSettings)
export class RetentionResolver {
  @Authorized()
  @Query(() => RetentionSettings, { description: 'Any user may read; LEADS and CONTACTS policies always listed' })
  retentionSettings(@Ctx() ctx: GraphQLContext): Promise<SettingsView> {
    return ctx.services.retention.getSettings(ctx.viewer.organizationId);
  }

  @Authorized('ADMIN')
  @Query(() => RetentionPreview, { description: 'What the policy would do now and within 30 days; changes nothing' })
  retentionPreview(@Arg('input', () => RetentionPolicyInput) input: RetentionPolicyInput, @Ctx() ctx: GraphQLContext): Promise<PreviewView> {
    return ctx.services.retention.preview(ctx.viewer, input);
  }

  @Authorized('ADMIN')
  @Mutation(() => RetentionSettings, { description: "false clears every record's retention and deletion dates" })
  setRetentionEnabled(@Arg('enabled', () => Boolean) enabled: boolean, @Ctx() ctx: GraphQLContext): Promise<SettingsView> {
    return ctx.services.retention.setEnabled(ctx.viewer, enabled);
  }

  @Authorized('ADMIN')
  @Mutation(() => RetentionSettings, { description: 'Days ahead (0–90, 0 = never) admins are told of records due' })
  setRetentionNoticeDays(@Arg('days', () => Int) days: number, @Ctx() ctx: GraphQLContext): Promise<SettingsView> {
    return ctx.services.retention.setNoticeDays(ctx.viewer, days);
  }

  @Authorized('ADMIN')
  @Mutation(() => RetentionPolicy, { description: "Recomputes the module's record dates" })
  updateRetentionPolicy(@Arg('input', () => RetentionPolicyInput) input: RetentionPolicyInput, @Ctx() ctx: GraphQLContext): Promise<PolicyRow> {
    return ctx.services.retention.updatePolicy(ctx.viewer, input);
  }

  @Authorized('ADMIN')
  @Mutation(() => RetentionSettings, { description: 'The switch and the policies, atomically (the settings form)' })
  saveRetentionSettings(
    @Arg('input', () => RetentionSettingsInput) input: RetentionSettingsInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SettingsView> {
    return ctx.services.retention.saveSettings(ctx.viewer, input);
  }

  @Authorized('ADMIN')
  @Subscription(() => RetentionSettings, {
    description: 'On every change of the settings and when a recompute or clearing of record dates ends',
    subscribe: ({ context }) => {
      const ctx = context as GraphQLContext;
      return ctx.services.pubsub.subscribe('retentionSettingsChanged', ctx.viewer.organizationId);
    },
  })
  retentionSettingsChanged(@Ctx() ctx: GraphQLContext): Promise<SettingsView> {
    // The event names no values: what the viewer sees is read now, within the viewer's organization.
    return ctx.services.retention.getSettings(ctx.viewer.organizationId);
  }

  @Authorized()
  @Mutation(() => RecordRetention, { description: 'Back to the policy’s date; same rights as updateRecordRetention' })
  async resetRecordRetention(
    @Arg('module', () => CrmModule) module: CrmModuleName,
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RecordRetention> {
    return toRecordRetention(await ctx.services.retention.records.resetRecordRetention(ctx.viewer, module, id), ctx);
  }

  @Authorized()
  @Mutation(() => RecordRetention, { description: 'Owner or ADMIN; a MASKED record: ADMIN only (a future date unmasks it)' })
  async updateRecordRetention(
    @Arg('module', () => CrmModule) module: CrmModuleName,
    @Arg('id', () => ID) id: string,
    @Arg('retentionEndsAt', () => GraphQLDateTimeISO) retentionEndsAt: Date,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RecordRetention> {
    return toRecordRetention(await ctx.services.retention.records.updateRecordRetention(ctx.viewer, module, id, retentionEndsAt), ctx);
  }

  @Authorized('ADMIN')
  @Mutation(() => RecordRetention, { description: 'A record on legal hold is never masked or deleted' })
  async setLegalHold(
    @Arg('module', () => CrmModule) module: CrmModuleName,
    @Arg('id', () => ID) id: string,
    @Arg('hold', () => Boolean) hold: boolean,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RecordRetention> {
    return toRecordRetention(await ctx.services.retention.records.setLegalHold(ctx.viewer, module, id, hold), ctx);
  }

  @FieldResolver(() => User, { nullable: true })
  updatedBy(@Root() settings: SettingsView, @Ctx() ctx: GraphQLContext): Promise<UserRow | null> | null {
    return settings.updatedById ? ctx.users.load(settings.updatedById) : null;
  }
}

@Resolver(() => RetentionPolicy)
export class RetentionPolicyFieldsResolver {
  @FieldResolver(() => User, { nullable: true })
  updatedBy(@Root() policy: PolicyRow, @Ctx() ctx: GraphQLContext): Promise<UserRow | null> | null {
    return policy.updatedById ? ctx.users.load(policy.updatedById) : null;
  }
}

function toRecordRetention(row: RecordRetentionRow, ctx: GraphQLContext): RecordRetention {
  return recordRetention(row, ctx.viewer);
}
