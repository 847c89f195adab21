import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { DEFAULT_PAGE, MAX_PAGE } from './connection.ts';

export const MAX_DEPTH = 12;
export const MAX_COST = 20_000;

interface Measure {
  depth: number;
  cost: number;
}

/**
 * A validation rule that refuses operations nested deeper than MAX_DEPTH or estimated to cost more than
 * MAX_COST, where a field costs 1 plus its children, times the page it asks for (`first`, else 20 for a
 * connection). Written against the AST with the project's own graphql (a library we tried,
 * graphql-query-complexity, loads a second copy of graphql and breaks instanceof checks).
 */
export function queryLimitsRule(context: ValidationContext): ASTVisitor {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of context.getDocument().definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }

  const measureSet = (set: SelectionSetNode | undefined, seen: ReadonlySet<string>): Measure => {
    const total: Measure = { depth: 0, cost: 0 };
    for (const sel of set?.selections ?? []) {
      let m: Measure;
      if (sel.kind === Kind.FIELD) m = measureField(sel, seen);
      else if (sel.kind === Kind.INLINE_FRAGMENT) m = measureSet(sel.selectionSet, seen);
      else if (seen.has(sel.name.value)) continue; // a fragment cycle is reported by graphql's own rules
      else m = measureSet(fragments.get(sel.name.value)?.selectionSet, new Set(seen).add(sel.name.value));
      total.depth = Math.max(total.depth, m.depth);
      total.cost += m.cost;
    }
    return total;
  };

  const measureField = (field: FieldNode, seen: ReadonlySet<string>): Measure => {
    if (!field.selectionSet) return { depth: 1, cost: 1 };
    const inner = measureSet(field.selectionSet, seen);
    return { depth: inner.depth + 1, cost: 1 + inner.cost * pageOf(field) };
  };

  return {
    OperationDefinition(node) {
      // GraphiQL's introspection (`__schema`, deeply nested type refs) is exempt, but only that root field:
      // exempting the whole operation would let any query bypass the limits by selecting `__schema` too.
      const selections = node.selectionSet.selections.filter((s) => !(s.kind === Kind.FIELD && s.name.value === '__schema'));
      const { depth, cost } = measureSet({ ...node.selectionSet, selections }, new Set());
      const message =
        depth > MAX_DEPTH
          ? `Query is nested ${depth} levels deep; the limit is ${MAX_DEPTH}`
          : cost > MAX_COST
            ? `Query cost ${cost} exceeds the limit of ${MAX_COST}; ask for fewer items`
            : undefined;
      if (message) context.reportError(new GraphQLError(message, { nodes: [node], extensions: { code: 'QUERY_TOO_COMPLEX' } }));
    },
  };
}

/** Validation runs before variables are known: a `first: $var` is costed at the largest page. */
function pageOf(field: FieldNode): number {
  const arg = field.arguments?.find((a) => a.name.value === 'first');
  if (arg?.value.kind === Kind.VARIABLE) return MAX_PAGE;
  if (arg?.value.kind === Kind.INT) return Math.min(Math.max(Number(arg.value.value), 1), MAX_PAGE);
  const isConnection = field.selectionSet?.selections.some((s) => s.kind === Kind.FIELD && s.name.value === 'nodes');
  return isConnection ? DEFAULT_PAGE : 1;
}
