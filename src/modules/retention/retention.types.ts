import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Field, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { CrmModule, type CrmModuleName } from '../crm/crm.types.ts';
import type { PeriodUnit as PeriodUnitName, RetentionAction as ActionName, RetentionBasis as BasisName } from './retention-dates.ts';

export const PeriodUnit = { DAYS: 'DAYS', WEEKS: 'WEEKS', MONTHS: 'MONTHS', YEARS: 'YEARS' } as const;
registerEnumType(PeriodUnit, { name: 'PeriodUnit' });
export const RetentionAction = { MASK: 'MASK', DELETE: 'DELETE' } as const;
registerEnumType(RetentionAction, { name: 'RetentionAction' });
export const RetentionBasis = { CREATED_AT: 'CREATED_AT', UPDATED_AT: 'UPDATED_AT' } as const;
registerEnumType(RetentionBasis, { name: 'RetentionBasis' });

@ObjectType()
export class Period {
  @Field(() => Int) value!: number;
  @Field(() => PeriodUnit) unit!: PeriodUnitName;
}

@InputType()
export class PeriodInput {
  @Field(() => Int) value!: number;
  @Field(() => PeriodUnit) unit!: PeriodUnitName;
}

/** A policy as the resolver returns it; `updatedBy` is resolved from `updatedById`. */
@ObjectType()
export class RetentionPolicy {
  @Field(() => CrmModule) module!: CrmModuleName;
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => RetentionBasis) basis!: BasisName;
  @Field(() => Period, { description: "How long a record is kept after its basis date: its retention date" })
  retentionPeriod!: Period;
  @Field(() => RetentionAction) action!: ActionName;
  @Field(() => Period, {
    description: 'The deletion or masking period: DELETE, grace after the retention date (0 = at once); MASK, how long masked records are kept',
  })
  actionPeriod!: Period;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) updatedAt!: Date | null;
  updatedById!: string | null;
}

@InputType()
export class RetentionPolicyInput {
  @Field(() => CrmModule, { description: 'LEADS or CONTACTS' }) module!: CrmModuleName;
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => RetentionBasis, { nullable: true, description: 'Default CREATED_AT' }) basis?: BasisName | null;
  @Field(() => PeriodInput, { description: 'value 1–1000' }) retentionPeriod!: PeriodInput;
  @Field(() => RetentionAction) action!: ActionName;
  @Field(() => PeriodInput, { description: 'value 0–1000 (MASK: at least 1)' }) actionPeriod!: PeriodInput;
}

@ObjectType()
export class RetentionSettings {
  @Field(() => Boolean, { description: 'The organization switch: off clears every record’s retention and deletion dates' })
  enabled!: boolean;
  @Field(() => Boolean, { description: 'True while record dates are being recomputed or cleared' })
  recomputing!: boolean;
  @Field(() => Int, { description: 'Days ahead admins are notified of records due to be masked or deleted (0 = never)' })
  noticeDays!: number;
  @Field(() => [RetentionPolicy], { description: 'LEADS and CONTACTS, always both' }) policies!: RetentionPolicy[];
  @Field(() => GraphQLDateTimeISO, { nullable: true }) updatedAt!: Date | null;
  updatedById!: string | null;
}

/** What a policy would do now and in the next 30 days; a sweep run now does exactly the "now" part. */
@ObjectType()
export class RetentionPreview {
  @Field(() => CrmModule) module!: CrmModuleName;
  @Field(() => Int, { description: 'Records that stay ACTIVE after a sweep now' }) activeRecords!: number;
  @Field(() => Int, { description: 'DELETE: records that turn EXPIRED now (grace period); MASK: 0' }) expiredNow!: number;
  @Field(() => Int, { description: 'Records the action (MASK or DELETE) applies to now' }) actionDueNow!: number;
  @Field(() => Int, { description: 'Records the action applies to within the next 30 days (not now)' })
  actionDueWithin30Days!: number;
  @Field(() => Int, { description: 'Records deleted now (for MASK: masked records at the end of their masking period)' })
  deletionDueNow!: number;
  @Field(() => Int, { description: 'Records deleted within the next 30 days (not now)' }) deletionDueWithin30Days!: number;
  @Field(() => Int, { description: 'Records with a CUSTOM date, which the policy does not move' }) customRecords!: number;
}

@InputType()
export class RetentionSettingsInput {
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => [RetentionPolicyInput], { description: 'At most one per module (LEADS, CONTACTS); a module left out keeps its policy' })
  policies!: RetentionPolicyInput[];
}
