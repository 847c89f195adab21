import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isIntrospectionType,
  isListType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { DEFAULT_PAGE, MAX_PAGE } from './connection.ts';
import { introspectionCost } from './introspection-cost.ts';

/** A root field (query, mutation or subscription) is at least one database query. */
export const QUERY_COST = 10;
/** `totalCount` counts every row that matches: a scan, priced like twenty of the largest pages (9 fit in a query). */
export const COUNT_COST = 2_000;
/** List fields without paging arguments: their declared largest size. */
export const LIST_SIZES: Readonly<Record<string, number>> = {
  'Backup.modules': 4,
  'ImportJob.modules': 4,
  'ImportJob.errors': 1_000, // the first 1,000 refused rows are kept
  'RetentionSettings.policies': 2,
};
/** A list without paging arguments and without a declared size (a new field, say) costs as the largest page. */
export const UNDECLARED_LIST_SIZE = MAX_PAGE;

export interface OperationMeasure {
  depth: number;
  cost: number;
}

/**
 * The estimated cost of a selection: every field is 1 value; a list multiplies its children by its size (a
 * connection's `nodes` by its `first`, else 20; `first: $var` at the largest page, since validation runs before
 * variables are known; other lists by their declared size); a root field adds QUERY_COST and `totalCount`
 * COUNT_COST; introspection counts exactly what it would answer. Fragments, inline or named, cost what they
 * spread, at every spread. `limit` stops the count early once it is passed.
 */
export class QueryCost {
  private readonly spreading = new Set<string>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly limit: number,
  ) {}

  measureSet(set: SelectionSetNode, parent: GraphQLCompositeType, page: number, root = false): OperationMeasure {
    const total: OperationMeasure = { depth: 0, cost: 0 };
    for (const sel of set.selections) {
      if (total.cost > this.limit) break;
      let m: OperationMeasure;
      if (sel.kind === Kind.FIELD) m = this.measureField(sel, parent, page, root);
      else if (sel.kind === Kind.INLINE_FRAGMENT) m = this.measureSet(sel.selectionSet, this.typeOf(sel.typeCondition?.name.value) ?? parent, page, root);
      else m = this.measureSpread(sel.name.value, page, root);
      total.depth = Math.max(total.depth, m.depth);
      total.cost += m.cost;
    }
    return total;
  }

  private measureSpread(name: string, page: number, root: boolean): OperationMeasure {
    const fragment = this.fragments.get(name);
    const type = this.typeOf(fragment?.typeCondition.name.value);
    // A cycle is refused by graphql-js's NoFragmentCycles, which runs beside this rule: count it as nothing here.
    if (!fragment || !type || this.spreading.has(name)) return { depth: 0, cost: 0 };
    this.spreading.add(name);
    try {
      return this.measureSet(fragment.selectionSet, type, page, root);
    } finally {
      this.spreading.delete(name);
    }
  }

  private measureField(field: FieldNode, parent: GraphQLCompositeType, page: number, root: boolean): OperationMeasure {
    const def = this.fieldDef(parent, field.name.value);
    const base = 1 + (root ? QUERY_COST : 0) + (field.name.value === 'totalCount' ? COUNT_COST : 0);
    if (!def) return { depth: 1, cost: base }; // `__typename`, or a field graphql-js reports as unknown
    const named = getNamedType(def.type);
    if (isIntrospectionType(named) && isObjectType(named) && field.selectionSet) {
      const selection = field.selectionSet;
      const values = def === SchemaMetaFieldDef ? [this.schema] : this.introspectedTypes(field);
      const costs = values.map((v) => introspectionCost(this.schema, this.fragments, selection, named, v, this.limit));
      return { depth: 1 + this.astDepth(selection), cost: base + Math.max(0, ...costs) };
    }
    const size = this.listSize(field, parent, def, page);
    if (!field.selectionSet) return { depth: 1, cost: base + (size ?? 1) - 1 };
    const connection = isObjectType(named) && 'nodes' in named.getFields();
    const childPage = connection ? pageArg(field) : page;
    const inner = this.measureSet(field.selectionSet, named as GraphQLCompositeType, childPage);
    return { depth: inner.depth + 1, cost: base + inner.cost * (size ?? 1) };
  }

  /** The nesting of a selection as written (fragments expanded; each fragment measured once). */
  private astDepth(set: SelectionSetNode): number {
    let depth = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) depth = Math.max(depth, sel.selectionSet ? 1 + this.astDepth(sel.selectionSet) : 1);
      else if (sel.kind === Kind.INLINE_FRAGMENT) depth = Math.max(depth, this.astDepth(sel.selectionSet));
      else depth = Math.max(depth, this.fragmentDepth(sel.name.value));
    }
    return depth;
  }

  private readonly fragmentDepths = new Map<string, number>();

  private fragmentDepth(name: string): number {
    const known = this.fragmentDepths.get(name);
    if (known !== undefined) return known;
    const fragment = this.fragments.get(name);
    this.fragmentDepths.set(name, 0); // a cycle (refused by graphql-js) adds nothing
    const depth = fragment ? this.astDepth(fragment.selectionSet) : 0;
    this.fragmentDepths.set(name, depth);
    return depth;
  }

  /** How many items a list field returns at most; undefined for a field that is not a list. */
  private listSize(field: FieldNode, parent: GraphQLNamedType, def: GraphQLField<unknown, unknown>, page: number): number | undefined {
    if (!isListType(getNullableType(def.type))) return undefined;
    if (field.name.value === 'nodes') return page;
    if (def.args.some((a) => a.name === 'first')) return pageArg(field);
    return LIST_SIZES[`${parent.name}.${def.name}`] ?? UNDECLARED_LIST_SIZE;
  }

  private fieldDef(parent: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
    if (parent === this.schema.getQueryType()) {
      if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
      if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
    }
    return 'getFields' in parent ? parent.getFields()[name] : undefined;
  }

  /** `__type(name: "X")`: X; a name given as a variable is unknown here, so it is priced as the costliest type. */
  private introspectedTypes(field: FieldNode): GraphQLNamedType[] {
    const arg = field.arguments?.find((a) => a.name.value === 'name');
    if (arg?.value.kind === Kind.STRING) return [this.schema.getType(arg.value.value)].filter((t) => t !== undefined);
    return Object.values(this.schema.getTypeMap());
  }

  private typeOf(name: string | undefined): GraphQLCompositeType | undefined {
    const type = name === undefined ? undefined : this.schema.getType(name);
    return isCompositeType(type) ? type : undefined;
  }
}

/** `first` as the page it asks for: default 20, capped at 100; a variable (unknown yet) at 100. */
export function pageArg(field: FieldNode): number {
  const arg = field.arguments?.find((a) => a.name.value === 'first');
  if (arg?.value.kind === Kind.VARIABLE) return MAX_PAGE;
  if (arg?.value.kind === Kind.INT) return Math.min(Math.max(Number(arg.value.value), 1), MAX_PAGE);
  return DEFAULT_PAGE;
}
