import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { QueryCost } from './query-cost.ts';

/** GraphiQL's introspection query (graphql 16) is 15 deep, and newer ones follow types a few levels further. */
export const MAX_DEPTH = 20;
export const MAX_COST = 20_000;
/** How often one root field may be selected (under aliases) in one operation. */
export const MAX_ROOT_FIELD_ALIASES = 10;
/**
 * Tokens of one document, checked by graphql's parser while it reads. graphql-js's own validation is quadratic in
 * same-named fields (OverlappingFieldsCanBeMerged), so a 250 KB alias bomb held the event loop for seconds before
 * any cost rule could refuse it; a cap on tokens refuses it in milliseconds. GraphiQL's introspection is ~200.
 */
export const MAX_TOKENS = 5_000;
export const PARSE_OPTIONS = { maxTokens: MAX_TOKENS } as const;

/** graphql's parser error for a document over MAX_TOKENS (graphql 16 spells it "more that"). */
const TOO_MANY_TOKENS = /Document contains more (?:than|that) \d+ tokens/;
export const TOO_LARGE_MESSAGE = `Query is too large: more than ${MAX_TOKENS} tokens`;

export function isTooManyTokens(message: string): boolean {
  return TOO_MANY_TOKENS.test(message);
}

/**
 * A validation rule, so a refused operation never reaches a resolver or the database: it refuses operations
 * nested deeper than MAX_DEPTH, estimated to cost more than MAX_COST (see query-cost.ts), or selecting one root
 * field more than MAX_ROOT_FIELD_ALIASES times. Introspection is costed like any field (by exactly what it would
 * answer) — GraphiQL's full introspection query passes, an aliased `__schema` bomb does not. Written against the
 * AST with the project's own graphql (graphql-query-complexity loads a second copy and breaks instanceof checks).
 */
export function queryLimitsRule(context: ValidationContext): ASTVisitor {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of context.getDocument().definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  return {
    OperationDefinition(node) {
      const message = refusal(context, fragments, node);
      if (message) context.reportError(new GraphQLError(message, { nodes: [node], extensions: { code: 'QUERY_TOO_COMPLEX' } }));
    },
  };
}

function refusal(
  context: ValidationContext,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  node: OperationDefinitionNode,
): string | undefined {
  const schema = context.getSchema();
  const root = schema.getRootType(node.operation);
  if (!root) return undefined; // graphql-js reports the missing root type
  const [field, times] = mostRepeatedRootField(node.selectionSet, fragments);
  if (times > MAX_ROOT_FIELD_ALIASES) {
    return `Query selects \`${field}\` more than ${MAX_ROOT_FIELD_ALIASES} times; the limit is ${MAX_ROOT_FIELD_ALIASES} per root field`;
  }
  const { depth, cost } = new QueryCost(schema, fragments, MAX_COST).measureSet(node.selectionSet, root, 1, true);
  if (depth > MAX_DEPTH) return `Query is nested ${depth} levels deep; the limit is ${MAX_DEPTH}`;
  if (cost > MAX_COST) return `Query cost ${cost} exceeds the limit of ${MAX_COST}; ask for fewer items`;
  return undefined;
}

/** The root field selected most often (through aliases, inline fragments and fragment spreads), and how often. */
function mostRepeatedRootField(set: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): [string, number] {
  const counts = new Map<string, number>();
  let top: [string, number] = ['', 0];
  const visit = (s: SelectionSetNode, seen: ReadonlySet<string>): void => {
    for (const sel of s.selections) {
      // Stopping at the first field over the limit also bounds the walk of fragments that spread others twice.
      if (top[1] > MAX_ROOT_FIELD_ALIASES) return;
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value === '__typename') continue;
        const count = (counts.get(sel.name.value) ?? 0) + 1;
        counts.set(sel.name.value, count);
        if (count > top[1]) top = [sel.name.value, count];
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        visit(sel.selectionSet, seen);
      } else if (!seen.has(sel.name.value)) {
        const fragment = fragments.get(sel.name.value);
        if (fragment) visit(fragment.selectionSet, new Set(seen).add(sel.name.value));
      }
    }
  };
  visit(set, new Set());
  return top;
}
