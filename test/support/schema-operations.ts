import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';

export type OperationKind = 'query' | 'mutation' | 'subscription';

export interface Operation {
  kind: OperationKind;
  name: string;
  field: GraphQLField<unknown, unknown>;
}

/** The emitted, committed schema (schema-drift.test.ts keeps it equal to the code's). */
export function loadSchema(): GraphQLSchema {
  return buildSchema(readFileSync(path.join(import.meta.dirname, '../../schema/schema.graphql'), 'utf8'));
}

/** Every root field of the schema: new operations are picked up with no change to the tests. */
export function operations(schema: GraphQLSchema): Operation[] {
  const roots: [OperationKind, ReturnType<GraphQLSchema['getQueryType']>][] = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ];
  return roots.flatMap(([kind, type]) => Object.values(type?.getFields() ?? {}).map((field) => ({ kind, name: field.name, field })));
}

/** Leaves and (to `depth`) objects, skipping fields with required arguments; `__typename` for an empty set. */
export function selectionOf(type: GraphQLOutputType, depth = 2): string {
  const named = getNamedType(type);
  if (isLeafType(named) || !isObjectType(named)) return '';
  const parts: string[] = [];
  for (const f of Object.values(named.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type))) continue;
    const inner = getNamedType(f.type);
    if (isLeafType(inner)) parts.push(f.name);
    else if (depth > 1) parts.push(`${f.name} ${selectionOf(f.type, depth - 1)}`);
  }
  return `{ ${parts.length > 0 ? parts.join(' ') : '__typename'} }`;
}

/** `kind Op($a_x: T!, …) { name(x: $a_x, …) selection }` for the given arguments (as variables `a_<name>`). */
export function documentOf(op: Operation, args: readonly GraphQLArgument[], depth = 2): string {
  const vars = args.map((a) => `$a_${a.name}: ${a.type.toString()}`).join(', ');
  const call = args.map((a) => `${a.name}: $a_${a.name}`).join(', ');
  return `${op.kind} Op${vars ? `(${vars})` : ''} { ${op.name}${call ? `(${call})` : ''} ${selectionOf(op.field.type, depth)} }`;
}

/** Whether a type (through non-null and list wrappers) is ID. */
export const isIdType = (type: GraphQLInputType): boolean => getNamedType(type).name === 'ID';

/** The type under its non-null wrapper, and whether it is a list. */
export function unwrap(type: GraphQLInputType): { list: boolean; named: GraphQLNamedInputType } {
  const inner = isNonNullType(type) ? type.ofType : type;
  return { list: isListType(inner), named: getNamedType(type) };
}

export { isEnumType, isInputObjectType, isNonNullType };
