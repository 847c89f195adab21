import { Arg, Authorized, type ClassType, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.ts';
import type { ConnectionShape } from '../../graphql/connection.ts';
import { notFound } from '../../shared/app-error.ts';
import { User } from '../auth/auth.types.ts';
import { MODULES, type CrmModuleName, type CrmRecord } from './crm.modules.ts';
import {
  Account,
  AccountConnection,
  AccountInput,
  Contact,
  ContactConnection,
  ContactInput,
  Deal,
  DealConnection,
  DealInput,
  Lead,
  LeadConnection,
  LeadInput,
  RecordRetention,
  RetentionState,
  type RetentionStateName,
} from './crm.types.ts';

/**
 * `x(id)`, `createX`, `updateX`, `deleteX` for one module: the same four operations on every module, so one
 * factory; the names come from the module (lead → createLead).
 */
function recordResolver(module: CrmModuleName, type: ClassType, input: ClassType) {
  const noun = MODULES[module].noun;
  const Noun = noun[0]!.toUpperCase() + noun.slice(1);

  @Resolver()
  class RecordResolver {
    // NOT_FOUND rather than null (API.md §4): the same answer for an id of another organization as for one
    // that exists nowhere. Nullable, so the other fields of a query still answer.
    @Authorized()
    @Query(() => type, { name: noun, nullable: true })
    async one(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<CrmRecord | null> {
      const record = await ctx.services.crm.get(ctx.viewer, module, id);
      if (!record) throw notFound(noun);
      return record;
    }

    @Authorized()
    @Mutation(() => type, { name: `create${Noun}` })
    async create(@Arg('input', () => input) values: object, @Ctx() ctx: GraphQLContext): Promise<CrmRecord> {
      return ctx.services.crm.create(ctx.viewer, module, { ...values });
    }

    @Authorized()
    @Mutation(() => type, { name: `update${Noun}` })
    async update(
      @Arg('id', () => ID) id: string,
      @Arg('input', () => input) values: object,
      @Ctx() ctx: GraphQLContext,
    ): Promise<CrmRecord> {
      return ctx.services.crm.update(ctx.viewer, module, id, { ...values });
    }

    @Authorized()
    @Mutation(() => Boolean, { name: `delete${Noun}` })
    async remove(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
      if (!(await ctx.services.crm.delete(ctx.viewer, module, id))) throw notFound(noun);
      return true;
    }
  }
  return RecordResolver;
}

export const LeadRecordResolver = recordResolver('LEADS', Lead, LeadInput);
export const ContactRecordResolver = recordResolver('CONTACTS', Contact, ContactInput);
export const AccountRecordResolver = recordResolver('ACCOUNTS', Account, AccountInput);
export const DealRecordResolver = recordResolver('DEALS', Deal, DealInput);

@Resolver()
export class CrmListResolver {
  @Authorized()
  @Query(() => LeadConnection)
  leads(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('retentionState', () => RetentionState, { nullable: true }) retentionState: RetentionStateName | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ConnectionShape<CrmRecord>> {
    return ctx.services.crm.list(ctx.viewer, 'LEADS', { first, after, retentionState });
  }

  @Authorized()
  @Query(() => ContactConnection)
  contacts(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('retentionState', () => RetentionState, { nullable: true }) retentionState: RetentionStateName | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ConnectionShape<CrmRecord>> {
    return ctx.services.crm.list(ctx.viewer, 'CONTACTS', { first, after, retentionState });
  }

  @Authorized()
  @Query(() => AccountConnection)
  accounts(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ConnectionShape<CrmRecord>> {
    return ctx.services.crm.list(ctx.viewer, 'ACCOUNTS', { first, after });
  }

  @Authorized()
  @Query(() => DealConnection)
  deals(
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ConnectionShape<CrmRecord>> {
    return ctx.services.crm.list(ctx.viewer, 'DEALS', { first, after });
  }
}

async function owner(record: CrmRecord, ctx: GraphQLContext): Promise<User | null> {
  return record.ownerId ? ctx.users.load(record.ownerId) : null;
}

async function related(module: CrmModuleName, id: unknown, ctx: GraphQLContext): Promise<CrmRecord | null> {
  return typeof id === 'string' ? ctx.records(module).load(id) : null;
}

/** Retention as a client sees it; dates are null until the organization's retention policy sets them. */
export function recordRetention(record: CrmRecord): RecordRetention {
  return {
    state: record.retentionState ?? 'ACTIVE',
    retentionEndsAt: record.retentionEndsAt ?? null,
    deletesAt: record.deletesAt ?? null,
    maskedAt: record.maskedAt ?? null,
    legalHold: record.legalHold ?? false,
  };
}

@Resolver(() => Lead)
export class LeadFieldsResolver {
  @FieldResolver(() => User, { nullable: true })
  owner(@Root() record: CrmRecord, @Ctx() ctx: GraphQLContext): Promise<User | null> {
    return owner(record, ctx);
  }

  @FieldResolver(() => RecordRetention)
  retention(@Root() record: CrmRecord): RecordRetention {
    return recordRetention(record);
  }
}

@Resolver(() => Contact)
export class ContactFieldsResolver {
  @FieldResolver(() => User, { nullable: true })
  owner(@Root() record: CrmRecord, @Ctx() ctx: GraphQLContext): Promise<User | null> {
    return owner(record, ctx);
  }

  @FieldResolver(() => Account, { nullable: true })
  account(@Root() record: CrmRecord, @Ctx() ctx: GraphQLContext): Promise<CrmRecord | null> {
    return related('ACCOUNTS', record.accountId, ctx);
  }

  @FieldResolver(() => RecordRetention)
  retention(@Root() record: CrmRecord): RecordRetention {
    return recordRetention(record);
  }
}

@Resolver(() => Account)
export class AccountFieldsResolver {
  @FieldResolver(() => User, { nullable: true })
  owner(@Root() record: CrmRecord, @Ctx() ctx: GraphQLContext): Promise<User | null> {
    return owner(record, ctx);
  }
}

@Resolver(() => Deal)
export class DealFieldsResolver {
  @FieldResolver(() => User, { nullable: true })
  owner(@Root() record: CrmRecord, @Ctx() ctx: GraphQLContext): Promise<User | null> {
    return owner(record, ctx);
  }

  @FieldResolver(() => Account, { nullable: true })
  account(@Root() record: CrmRecord, @Ctx() ctx: GraphQLContext): Promise<CrmRecord | null> {
    return related('ACCOUNTS', record.accountId, ctx);
  }

  @FieldResolver(() => Contact, { nullable: true })
  contact(@Root() record: CrmRecord, @Ctx() ctx: GraphQLContext): Promise<CrmRecord | null> {
    return related('CONTACTS', record.contactId, ctx);
  }
}
