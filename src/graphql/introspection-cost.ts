import {
  getNamedType,
  isObjectType,
  Kind,
  valueFromAST,
  type ArgumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

/**
 * The exact number of values an introspection selection would answer, counted by walking the schema with
 * graphql's own introspection resolvers (pure, in-memory functions of the schema: no resolver of ours, no
 * database). Introspection answers depend only on the schema and the query, so its cost needs no estimate — and a
 * `__schema { t0: types {…} … t2999: types {…} }` is counted alias by alias. The walk stops as soon as `budget`
 * is passed, so measuring a bomb costs at most `budget` steps.
 */
export function introspectionCost(
  schema: GraphQLSchema,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  set: SelectionSetNode,
  type: GraphQLObjectType,
  value: unknown,
  budget: number,
): number {
  let cost = 0;
  for (const sel of set.selections) {
    if (cost > budget) return cost;
    if (sel.kind === Kind.INLINE_FRAGMENT) {
      cost += introspectionCost(schema, fragments, sel.selectionSet, type, value, budget - cost);
      continue;
    }
    if (sel.kind === Kind.FRAGMENT_SPREAD) {
      // Fragment cycles are reported by graphql-js's own rule; the budget ends the walk of one before that.
      const fragment = fragments.get(sel.name.value);
      if (fragment) cost += introspectionCost(schema, fragments, fragment.selectionSet, type, value, budget - cost);
      continue;
    }
    const def = type.getFields()[sel.name.value];
    if (!def || !sel.selectionSet) {
      cost += 1;
      continue;
    }
    const result = resolveMeta(schema, def, sel.arguments ?? [], value);
    const items = Array.isArray(result) ? (result as unknown[]) : result === null || result === undefined ? [] : [result];
    const named = getNamedType(def.type);
    cost += 1;
    if (!isObjectType(named)) {
      cost += items.length;
      continue;
    }
    for (const item of items) {
      if (cost > budget) return cost;
      cost += introspectionCost(schema, fragments, sel.selectionSet, named, item, budget - cost);
    }
  }
  return cost;
}

/**
 * One introspection field's value. Arguments given as variables (unknown during validation) take their
 * defaults, except `includeDeprecated`, which is read as true: the larger answer.
 */
function resolveMeta(
  schema: GraphQLSchema,
  def: GraphQLField<unknown, unknown>,
  argNodes: readonly ArgumentNode[],
  source: unknown,
): unknown {
  const args: Record<string, unknown> = {};
  for (const arg of def.args) {
    const node = argNodes.find((a) => a.name.value === arg.name);
    const literal = node && node.value.kind !== Kind.VARIABLE ? valueFromAST(node.value, arg.type) : undefined;
    args[arg.name] = literal ?? (arg.name === 'includeDeprecated' ? true : arg.defaultValue);
  }
  // graphql's introspection resolvers read `info.schema` only (for `__Schema` fields); nothing else of `info`.
  const info = { schema } as GraphQLResolveInfo;
  return def.resolve ? def.resolve(source, args, undefined, info) : (source as Record<string, unknown>)[def.name];
}
