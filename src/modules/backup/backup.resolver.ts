import { filter, pipe } from '@graphql-yoga/subscription';
import {
  Arg,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.ts';
import { signedPage, type ConnectionShape } from '../../graphql/connection.ts';
import { PerEventLoad } from '../../graphql/per-event-load.ts';
import type { Topics } from '../../events/event-topics.ts';
import { notFound } from '../../shared/app-error.ts';
import { User } from '../auth/auth.types.ts';
import { CRM_MODULE_NAMES, type CrmModuleName } from '../crm/crm.modules.ts';
import { percentOf } from '../../jobs/job-progress.ts';
import {
  AutoBackupInput,
  Backup,
  BackupConnection,
  BackupEvent,
  BackupModuleSummary,
  BackupProgress,
  BackupSettings,
  BackupStatus,
  DownloadLink,
  type BackupEventView,
  type BackupRow,
  type BackupSettingsView,
  type BackupStatusName,
} from './backup.types.ts';

type BackupEventPayload = Topics['backupEvent'][1];

const eventBackups = new PerEventLoad<BackupRow | undefined>();

const asModule = (name: string | null): CrmModuleName | null =>
  (CRM_MODULE_NAMES as readonly (string | null)[]).includes(name) ? (name as CrmModuleName) : null;

@Resolver(() => Backup)
export class BackupResolver {
  @Authorized('ADMIN')
  @Query(() => BackupSettings)
  backupSettings(@Ctx() ctx: GraphQLContext): Promise<BackupSettingsView> {
    return ctx.services.backups.getSettings(ctx.viewer.organizationId);
  }

  @Authorized('ADMIN')
  @Query(() => BackupConnection, { description: 'Newest first' })
  backups(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('status', () => [BackupStatus], { nullable: true }) status: BackupStatusName[] | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ConnectionShape<BackupRow>> {
    return signedPage(ctx.services.appSecret, 'backups', after, (plain) =>
      ctx.services.backups.list(ctx.viewer.organizationId, { first, after: plain, status }),
    );
  }

  @Authorized('ADMIN')
  @Query(() => Backup, { nullable: true })
  async backup(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<BackupRow> {
    // NOT_FOUND, like lead(id): another organization's id must look exactly like one that does not exist.
    const backup = await ctx.services.backups.get(ctx.viewer.organizationId, id);
    if (!backup) throw notFound('backup');
    return backup;
  }

  @Authorized('ADMIN')
  @Mutation(() => BackupSettings, { description: 'Replaces the schedule; plans the next PENDING backup' })
  enableAutoBackup(@Arg('input', () => AutoBackupInput) input: AutoBackupInput, @Ctx() ctx: GraphQLContext): Promise<BackupSettingsView> {
    return ctx.services.backups.enableAutoBackup(ctx.viewer, input);
  }

  @Authorized('ADMIN')
  @Mutation(() => BackupSettings, { description: 'Cancels the pending scheduled backup' })
  disableAutoBackup(@Ctx() ctx: GraphQLContext): Promise<BackupSettingsView> {
    return ctx.services.backups.disableAutoBackup(ctx.viewer);
  }

  @Authorized('ADMIN')
  @Mutation(() => Backup, { description: 'BACKUP_IN_PROGRESS while a backup runs or a manual one waits' })
  startManualBackup(@Ctx() ctx: GraphQLContext): Promise<BackupRow> {
    return ctx.services.backups.startManual(ctx.viewer);
  }

  @Authorized('ADMIN')
  @Mutation(() => Backup, { description: 'PENDING only, else BACKUP_ALREADY_STARTED / BACKUP_NOT_CANCELLABLE' })
  cancelBackup(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<BackupRow> {
    return ctx.services.backups.cancel(ctx.viewer, id);
  }

  @Authorized('ADMIN')
  @Mutation(() => DownloadLink, { description: 'COMPLETED and kept, else BACKUP_NOT_DOWNLOADABLE' })
  createBackupDownloadLink(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<DownloadLink> {
    return ctx.services.backups.createDownloadLink(ctx.viewer, id);
  }

  @Authorized('ADMIN')
  @Subscription(() => BackupEvent, {
    description: "The viewer's organization only; all its backups when no id",
    subscribe: async ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const backupId = (args as { backupId?: string | null }).backupId ?? null;
      if (backupId !== null && !(await ctx.services.backups.get(ctx.viewer.organizationId, backupId))) throw notFound('backup');
      const events = ctx.services.pubsub.subscribe('backupEvent', ctx.viewer.organizationId);
      return backupId === null ? events : pipe(events, filter((e: BackupEventPayload) => e.backupId === backupId));
    },
  })
  async backupEvents(
    @Arg('backupId', () => ID, { nullable: true }) _backupId: string | null,
    @Root() event: BackupEventPayload,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BackupEventView> {
    // The payload names the backup; what the viewer sees is loaded now, within the viewer's organization, once
    // per event for all of this process's subscribers (they would each read the same row).
    const organizationId = ctx.viewer.organizationId;
    const backup = await eventBackups.get(event, organizationId, () => ctx.services.backups.get(organizationId, event.backupId));
    if (!backup) throw notFound('backup');
    return { kind: event.kind as BackupEventView['kind'], backup, at: new Date(event.at) };
  }

  @FieldResolver(() => User, { nullable: true })
  requestedBy(@Root() backup: BackupRow, @Ctx() ctx: GraphQLContext): Promise<User | null> | null {
    return backup.requestedBy ? ctx.users.load(backup.requestedBy) : null;
  }

  @FieldResolver(() => BackupProgress, { nullable: true, description: 'Null until the backup starts' })
  progress(@Root() backup: BackupRow): BackupProgress | null {
    if (backup.status === 'PENDING' || (backup.status === 'CANCELLED' && !backup.startedAt)) return null;
    const point = { processedRecords: backup.processedRecords, totalRecords: backup.totalRecords };
    const done = backup.status === 'COMPLETED' || backup.status === 'EXPIRED';
    return {
      ...point,
      percent: done ? 100 : percentOf(point),
      module: asModule(backup.progressModule),
    };
  }

  @FieldResolver(() => [BackupModuleSummary])
  modules(@Root() backup: BackupRow): BackupModuleSummary[] {
    return backup.modules.flatMap((m) => {
      const module = asModule(m.module);
      return module ? [{ module, recordCount: m.recordCount }] : [];
    });
  }

  @FieldResolver(() => Boolean, { description: 'COMPLETED and its archive still kept' })
  downloadable(@Root() backup: BackupRow): boolean {
    return backup.status === 'COMPLETED' && backup.storageKey !== null;
  }
}

@Resolver(() => BackupSettings)
export class BackupSettingsResolver {
  @FieldResolver(() => User, { nullable: true })
  updatedBy(@Root() settings: BackupSettingsView, @Ctx() ctx: GraphQLContext): Promise<User | null> | null {
    return settings.updatedById ? ctx.users.load(settings.updatedById) : null;
  }
}
