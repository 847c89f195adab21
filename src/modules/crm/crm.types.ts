import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Field, Float, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType } from '../../graphql/connection.ts';
import type { CrmModuleName } from './crm.modules.ts';

export const CrmModule = { LEADS: 'LEADS', CONTACTS: 'CONTACTS', ACCOUNTS: 'ACCOUNTS', DEALS: 'DEALS' } as const;
registerEnumType(CrmModule, { name: 'CrmModule' });
export type { CrmModuleName };

export const RetentionState = { ACTIVE: 'ACTIVE', EXPIRED: 'EXPIRED', MASKED: 'MASKED' } as const;
export type RetentionStateName = keyof typeof RetentionState;
registerEnumType(RetentionState, { name: 'RetentionState' });

@ObjectType()
export class RecordRetention {
  @Field(() => RetentionState) state!: RetentionStateName;
  @Field(() => GraphQLDateTimeISO, { nullable: true, description: "The record's retention date" })
  retentionEndsAt!: Date | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true, description: "The record's deletion date" })
  deletesAt!: Date | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) maskedAt!: Date | null;
  @Field(() => Boolean) legalHold!: boolean;
}

// Relations (owner, account, contact) and `retention` are field resolvers in crm.resolver.ts.
@ObjectType()
export class Lead {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true }) firstName!: string | null;
  @Field(() => String, { nullable: true }) lastName!: string | null;
  @Field(() => String, { nullable: true }) email!: string | null;
  @Field(() => String, { nullable: true }) phone!: string | null;
  @Field(() => String, { nullable: true }) company!: string | null;
  @Field(() => String, { nullable: true }) title!: string | null;
  @Field(() => String, { nullable: true }) status!: string | null;
  @Field(() => String, { nullable: true }) source!: string | null;
  @Field(() => String, { nullable: true }) notes!: string | null;
  @Field(() => GraphQLDateTimeISO) createdAt!: Date;
  @Field(() => GraphQLDateTimeISO) updatedAt!: Date;
}

@ObjectType()
export class Contact {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true }) firstName!: string | null;
  @Field(() => String, { nullable: true }) lastName!: string | null;
  @Field(() => String, { nullable: true }) email!: string | null;
  @Field(() => String, { nullable: true }) phone!: string | null;
  @Field(() => String, { nullable: true }) jobTitle!: string | null;
  @Field(() => String, { nullable: true }) address!: string | null;
  @Field(() => String, { nullable: true }) notes!: string | null;
  @Field(() => GraphQLDateTimeISO) createdAt!: Date;
  @Field(() => GraphQLDateTimeISO) updatedAt!: Date;
}

@ObjectType()
export class Account {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) domain!: string | null;
  @Field(() => String, { nullable: true }) industry!: string | null;
  @Field(() => String, { nullable: true }) phone!: string | null;
  @Field(() => String, { nullable: true }) address!: string | null;
  @Field(() => GraphQLDateTimeISO) createdAt!: Date;
  @Field(() => GraphQLDateTimeISO) updatedAt!: Date;
}

@ObjectType()
export class Deal {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => Float, { nullable: true }) amount!: number | null;
  @Field(() => String, { nullable: true }) currency!: string | null;
  @Field(() => String, { nullable: true }) stage!: string | null;
  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD' }) closeDate!: string | null;
  @Field(() => GraphQLDateTimeISO) createdAt!: Date;
  @Field(() => GraphQLDateTimeISO) updatedAt!: Date;
}

export const LeadConnection = connectionType(Lead, 'LeadConnection');
export const ContactConnection = connectionType(Contact, 'ContactConnection');
export const AccountConnection = connectionType(Account, 'AccountConnection');
export const DealConnection = connectionType(Deal, 'DealConnection');

// Inputs: every writable field is optional. On update an absent field is left unchanged, null clears it.
@InputType()
export class LeadInput {
  @Field(() => String, { nullable: true }) firstName?: string | null;
  @Field(() => String, { nullable: true }) lastName?: string | null;
  @Field(() => String, { nullable: true }) email?: string | null;
  @Field(() => String, { nullable: true }) phone?: string | null;
  @Field(() => String, { nullable: true }) company?: string | null;
  @Field(() => String, { nullable: true }) title?: string | null;
  @Field(() => String, { nullable: true }) status?: string | null;
  @Field(() => String, { nullable: true }) source?: string | null;
  @Field(() => String, { nullable: true }) notes?: string | null;
  @Field(() => ID, { nullable: true, description: 'Default on create: the viewer' }) ownerId?: string | null;
}

@InputType()
export class ContactInput {
  @Field(() => String, { nullable: true }) firstName?: string | null;
  @Field(() => String, { nullable: true }) lastName?: string | null;
  @Field(() => String, { nullable: true }) email?: string | null;
  @Field(() => String, { nullable: true }) phone?: string | null;
  @Field(() => String, { nullable: true }) jobTitle?: string | null;
  @Field(() => String, { nullable: true }) address?: string | null;
  @Field(() => String, { nullable: true }) notes?: string | null;
  @Field(() => ID, { nullable: true }) accountId?: string | null;
  @Field(() => ID, { nullable: true, description: 'Default on create: the viewer' }) ownerId?: string | null;
}

@InputType()
export class AccountInput {
  @Field(() => String, { nullable: true, description: 'Required on create' }) name?: string | null;
  @Field(() => String, { nullable: true }) domain?: string | null;
  @Field(() => String, { nullable: true }) industry?: string | null;
  @Field(() => String, { nullable: true }) phone?: string | null;
  @Field(() => String, { nullable: true }) address?: string | null;
  @Field(() => ID, { nullable: true, description: 'Default on create: the viewer' }) ownerId?: string | null;
}

@InputType()
export class DealInput {
  @Field(() => String, { nullable: true, description: 'Required on create' }) name?: string | null;
  @Field(() => Float, { nullable: true, description: '>= 0' }) amount?: number | null;
  @Field(() => String, { nullable: true, description: 'ISO 4217, e.g. SGD' }) currency?: string | null;
  @Field(() => String, { nullable: true }) stage?: string | null;
  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD' }) closeDate?: string | null;
  @Field(() => ID, { nullable: true }) accountId?: string | null;
  @Field(() => ID, { nullable: true }) contactId?: string | null;
  @Field(() => ID, { nullable: true, description: 'Default on create: the viewer' }) ownerId?: string | null;
}
