import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType } from '../../graphql/connection.ts';
import { CrmModule, type CrmModuleName } from '../crm/crm.types.ts';
import type { backups } from './backup.table.ts';

export type BackupRow = typeof backups.$inferSelect;
export type BackupStatusName = BackupRow['status'];
export type BackupTriggerName = BackupRow['trigger'];

const enumOf = <const T extends readonly string[]>(values: T) =>
  Object.fromEntries(values.map((v) => [v, v])) as { [K in T[number]]: K };

export const Weekday = enumOf(['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY']);
export const BackupFrequency = enumOf(['WEEKLY', 'MONTHLY']);
export const BackupTrigger = enumOf(['MANUAL', 'SCHEDULED']);
export const BackupStatus = enumOf(['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'EXPIRED']);
export const BackupEventKind = enumOf(['PENDING', 'STARTED', 'PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'EXPIRED']);
export type BackupEventKindName = keyof typeof BackupEventKind;
registerEnumType(Weekday, { name: 'Weekday' });
registerEnumType(BackupFrequency, { name: 'BackupFrequency' });
registerEnumType(BackupTrigger, { name: 'BackupTrigger' });
registerEnumType(BackupStatus, { name: 'BackupStatus' });
registerEnumType(BackupEventKind, { name: 'BackupEventKind' });

/** The settings row as resolvers see it (`updatedBy` resolves to a User). */
export interface BackupSettingsView {
  autoBackupEnabled: boolean;
  frequency: string | null;
  dayOfWeek: string | null;
  dayOfMonth: number | null;
  timeOfDay: string | null;
  timezone: string;
  nextRunAt: Date | null;
  updatedAt: Date | null;
  updatedById: string | null;
  /** The RUNNING backup, or a PENDING manual one. */
  activeBackup: BackupRow | null;
  /** The PENDING scheduled backup. */
  nextBackup: BackupRow | null;
  canStartManualBackup: boolean;
}

@ObjectType()
export class BackupSettings {
  @Field(() => Boolean) autoBackupEnabled!: boolean;
  @Field(() => BackupFrequency, { nullable: true }) frequency!: string | null;
  @Field(() => Weekday, { nullable: true, description: 'WEEKLY' }) dayOfWeek!: string | null;
  @Field(() => Int, { nullable: true, description: 'MONTHLY, 1..31; a month without that day runs on its last day' })
  dayOfMonth!: number | null;
  @Field(() => String, { nullable: true, description: '"HH:MM", 24-hour, in `timezone`' }) timeOfDay!: string | null;
  @Field(() => String) timezone!: string;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) nextRunAt!: Date | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) updatedAt!: Date | null;
  @Field(() => Backup, { nullable: true, description: 'The RUNNING backup, or a PENDING manual one' }) activeBackup!: BackupRow | null;
  @Field(() => Backup, { nullable: true, description: 'The PENDING scheduled backup' }) nextBackup!: BackupRow | null;
  @Field(() => Boolean, { description: 'False while a backup runs or a manual one waits (startManualBackup would answer BACKUP_IN_PROGRESS)' })
  canStartManualBackup!: boolean;
}

@InputType()
export class AutoBackupInput {
  @Field(() => BackupFrequency) frequency!: string;
  @Field(() => Weekday, { nullable: true }) dayOfWeek?: string | null;
  @Field(() => Int, { nullable: true }) dayOfMonth?: number | null;
  @Field(() => String, { description: '"HH:MM", 24-hour' }) timeOfDay!: string;
  @Field(() => String, { nullable: true, description: "IANA name; default: the organization's timezone" })
  timezone?: string | null;
}

@ObjectType()
export class BackupProgress {
  @Field(() => Int) processedRecords!: number;
  @Field(() => Int) totalRecords!: number;
  @Field(() => Float) percent!: number;
  @Field(() => CrmModule, { nullable: true }) module!: CrmModuleName | null;
}

@ObjectType()
export class BackupModuleSummary {
  @Field(() => CrmModule) module!: CrmModuleName;
  @Field(() => Int) recordCount!: number;
}

// Computed fields (requestedBy, progress, modules, downloadable) are field resolvers in backup.resolver.ts.
@ObjectType()
export class Backup {
  @Field(() => ID) id!: string;
  @Field(() => BackupTrigger) trigger!: BackupTriggerName;
  @Field(() => BackupStatus) status!: BackupStatusName;
  @Field(() => GraphQLDateTimeISO) createdAt!: Date;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) scheduledFor!: Date | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) startedAt!: Date | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) finishedAt!: Date | null;
  @Field(() => String, { nullable: true }) fileName!: string | null;
  @Field(() => Float, { nullable: true }) sizeBytes!: number | null;
  @Field(() => String, { nullable: true }) sha256!: string | null;
  @Field(() => String, { nullable: true }) error!: string | null;
}

export const BackupConnection = connectionType(Backup, 'BackupConnection');

export interface BackupEventView {
  kind: BackupEventKindName;
  backup: BackupRow;
  at: Date;
}

@ObjectType()
export class BackupEvent {
  @Field(() => BackupEventKind) kind!: BackupEventKindName;
  @Field(() => Backup) backup!: Backup;
  @Field(() => GraphQLDateTimeISO) at!: Date;
}

@ObjectType()
export class DownloadLink {
  @Field(() => String) url!: string;
  @Field(() => GraphQLDateTimeISO) expiresAt!: Date;
}
