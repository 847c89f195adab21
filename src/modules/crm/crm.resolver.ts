import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.ts';
import { signedPage, type ConnectionShape } from '../../graphql/connection.ts';
import { notFound } from '../../shared/app-error.ts';
import { User, type Viewer } from '../auth/auth.types.ts';
import { CRM_MODULE_NAMES, MODULES, type CrmModuleName, type CrmRecord, type ModuleSpec } from './crm.modules.ts';
import { RECORD_TYPES, RecordRetention, RetentionState, type RetentionStateName } from './crm.types.ts';

/**
 * Retention as `viewer` sees it; dates are null until the organization's retention policy sets them (a source
 * with no date left, after a restore cleared it, reads NONE).
 */
export function recordRetention(record: RetentionFields, viewer: Pick<Viewer, 'role' | 'userId'>): RecordRetention {
  const state = record.retentionState ?? 'ACTIVE';
  const legalHold = record.legalHold ?? false;
  const retentionEndsAt = record.retentionEndsAt ?? null;
  return {
    state,
    retentionEndsAt,
    deletesAt: record.deletesAt ?? null,
    maskedAt: record.maskedAt ?? null,
    legalHold,
    source: retentionEndsAt ? (record.retentionSource ?? 'POLICY') : 'NONE',
    canEdit: mayEditRetention(viewer, { ownerId: record.ownerId, state, legalHold }),
  };
}

type RetentionFields = Pick<CrmRecord, 'ownerId' | 'retentionState' | 'retentionEndsAt' | 'deletesAt' | 'maskedAt' | 'legalHold' | 'retentionSource'>;

/**
 * API.md §6 "Rules": an ADMIN may; a STANDARD user only on a record they own that is neither MASKED nor on hold
 * (the same rule updateRecordRetention and resetRecordRetention enforce).
 */
export function mayEditRetention(
  viewer: Pick<Viewer, 'role' | 'userId'>,
  record: { ownerId: string | null; state: string; legalHold: boolean },
): boolean {
  if (viewer.role === 'ADMIN') return true;
  return record.ownerId === viewer.userId && record.state !== 'MASKED' && !record.legalHold;
}

/**
 * `x(id)`, `xs(first, after)`, `createX`, `updateX`, `deleteX` and the type's relations for one module: the same
 * operations on every module, so one factory; the names come from the registry (lead → createLead, leads).
 */
function recordResolver(spec: ModuleSpec) {
  const { module, noun } = spec;
  const Noun = noun[0]!.toUpperCase() + noun.slice(1);
  const { type, input, connection } = RECORD_TYPES[module];

  @Resolver(() => type)
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

    // `retentionState` (the last argument) is declared below for the modules with retention only.
    @Authorized()
    @Query(() => connection, { name: spec.table })
    list(
      @Ctx() ctx: GraphQLContext,
      @Arg('first', () => Int, { nullable: true }) first: number | null,
      @Arg('after', () => String, { nullable: true }) after: string | null,
      retentionState?: RetentionStateName | null,
    ): Promise<ConnectionShape<CrmRecord>> {
      return signedPage(ctx.services.appSecret, spec.table, after, (plain) =>
        ctx.services.crm.list(ctx.viewer, module, { first, after: plain, retentionState }),
      );
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

    @FieldResolver(() => User, { nullable: true })
    owner(@Root() record: CrmRecord, @Ctx() ctx: GraphQLContext): Promise<User | null> {
      return record.ownerId ? ctx.users.load(record.ownerId) : Promise.resolve(null);
    }
  }

  if (spec.retention) withRetention(RecordResolver.prototype);
  for (const [field, rule] of Object.entries(spec.fields)) {
    if (rule.ref && rule.relation) withRelation(RecordResolver.prototype, rule.relation, field, rule.ref);
  }
  return RecordResolver;
}

/** The list's `retentionState` filter and the type's `retention` field. */
function withRetention(prototype: object): void {
  Arg('retentionState', () => RetentionState, { nullable: true })(prototype, 'list', 3);
  defineFieldResolver(prototype, 'retention', () => RecordRetention, false, (record, ctx) => recordRetention(record, ctx.viewer));
}

/** `account` for `accountId`: the referenced record, through the request's loader (one query per module). */
function withRelation(prototype: object, relation: string, field: string, target: CrmModuleName): void {
  defineFieldResolver(prototype, relation, () => RECORD_TYPES[target].type, true, (record, ctx) => {
    const id = record[field];
    return typeof id === 'string' ? ctx.records(target).load(id) : Promise.resolve(null);
  });
}

function defineFieldResolver(
  prototype: object,
  name: string,
  type: () => object,
  nullable: boolean,
  resolve: (record: CrmRecord, ctx: GraphQLContext) => unknown,
): void {
  const descriptor: PropertyDescriptor = { value: resolve, writable: true, configurable: true };
  Object.defineProperty(prototype, name, descriptor);
  FieldResolver(type, { nullable })(prototype, name, descriptor);
  Root()(prototype, name, 0);
  Ctx()(prototype, name, 1);
}

/** One resolver class per module, in registry order. */
export const CRM_RESOLVERS = CRM_MODULE_NAMES.map((module) => recordResolver(MODULES[module]));
