import { readFile } from 'node:fs/promises';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { printAppSchema, SCHEMA_FILE } from '../../src/graphql/schema.ts';

const CONTRACT_FILE = new URL('../fixtures/api-contract.graphql', import.meta.url);

/** The named types a contract defines (the built-in scalars and introspection types are not its own). */
function contractTypes(schema: GraphQLSchema): GraphQLNamedType[] {
  const builtIn = new Set(['String', 'Int', 'Float', 'Boolean', 'ID']);
  return Object.values(schema.getTypeMap()).filter((t) => !t.name.startsWith('__') && !builtIn.has(t.name));
}

/** Where `emitted` differs from what `contract` promises: missing or differently typed members. */
function driftOf(contract: GraphQLNamedType, emitted: GraphQLNamedType | undefined | null): string[] {
  if (!emitted) return [`type ${contract.name} is missing`];
  const kind = (t: GraphQLNamedType) => t.constructor.name;
  if (kind(contract) !== kind(emitted)) return [`${contract.name} is a ${kind(emitted)}, the contract says ${kind(contract)}`];
  if (isEnumType(contract) && isEnumType(emitted)) {
    const names = (t: typeof contract) => t.getValues().map((v) => v.name).sort();
    return JSON.stringify(names(contract)) === JSON.stringify(names(emitted))
      ? []
      : [`enum ${contract.name} has ${names(emitted).join(' ')}, the contract says ${names(contract).join(' ')}`];
  }
  if ((isObjectType(contract) && isObjectType(emitted)) || (isInputObjectType(contract) && isInputObjectType(emitted))) {
    return membersDrift(contract.name, contract.getFields(), emitted.getFields(), isInputObjectType(emitted));
  }
  return [];
}

type Member = GraphQLField<unknown, unknown> | GraphQLInputField | GraphQLArgument;

function membersDrift(owner: string, contract: Record<string, Member>, emitted: Record<string, Member>, input: boolean): string[] {
  const drift: string[] = [];
  for (const [name, promised] of Object.entries(contract)) {
    const actual = emitted[name];
    if (!actual) drift.push(`${owner}.${name} is missing`);
    else if (String(actual.type) !== String(promised.type)) drift.push(`${owner}.${name} is ${String(actual.type)}, the contract says ${String(promised.type)}`);
    else if ('args' in promised && 'args' in actual) drift.push(...argsDrift(`${owner}.${name}`, promised.args, actual.args));
  }
  // A required input field or argument the contract does not name would break every client that follows it.
  if (input) drift.push(...extraRequired(owner, contract, emitted));
  return drift;
}

function argsDrift(owner: string, contract: readonly GraphQLArgument[], emitted: readonly GraphQLArgument[]): string[] {
  const byName = (args: readonly GraphQLArgument[]) => Object.fromEntries(args.map((a) => [a.name, a]));
  return [...membersDrift(`${owner}(…)`, byName(contract), byName(emitted), false), ...extraRequired(`${owner}(…)`, byName(contract), byName(emitted))];
}

function extraRequired(owner: string, contract: Record<string, Member>, emitted: Record<string, Member>): string[] {
  return Object.values(emitted)
    .filter((m) => !contract[m.name] && isNonNullType(m.type) && !('defaultValue' in m && m.defaultValue !== undefined))
    .map((m) => `${owner}.${m.name} is required but not in the contract`);
}

describe('schema/schema.graphql', () => {
  let sdl: string;
  let emitted: GraphQLSchema;
  let contract: GraphQLSchema;
  beforeAll(async () => {
    sdl = await printAppSchema();
    emitted = buildSchema(sdl);
    contract = buildSchema(await readFile(CONTRACT_FILE, 'utf8'));
  });

  it('is what the code builds (run `npm run schema:emit` and commit the file when this fails)', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    expect(sdl === committed, 'schema/schema.graphql is out of date: run `npm run schema:emit` and commit it').toBe(true);
  });

  it('has every type, field, argument and enum value of API.md §3 (test/fixtures/api-contract.graphql), typed alike', () => {
    const types = contractTypes(contract);
    // The contract is read in full: all of §3's types, scalars and root operation types included.
    expect(types.length).toBeGreaterThan(50);
    expect(types.filter(isScalarType).map((t) => t.name)).toEqual(['DateTimeISO', 'JSONObject']); // JSONObject: API.md §6
    expect(types.flatMap((t) => driftOf(t, emitted.getType(t.name)))).toEqual([]);
  });

  it('finds drift when there is some (the comparison itself can fail)', () => {
    const changed = buildSchema(
      sdl
        .replace(/\n {2}lead\(id: ID!\): Lead\n/, '\n  lead(id: ID!): Lead!\n')
        .replace(/\n {2}markNotificationsRead\(ids: \[ID!\]\): Int!\n/, '\n  markNotificationsRead(ids: [ID!], all: Boolean!): Int!\n')
        .replace(/\n {2}STANDARD\n/, '\n  STANDARD\n  OWNER\n')
        .replace(/\n {2}jobTitle: String\n/g, '\n'),
    );
    const drift = contractTypes(contract).flatMap((t) => driftOf(t, changed.getType(t.name)));
    expect(drift).toEqual(
      expect.arrayContaining([
        'Query.lead is Lead!, the contract says Lead',
        'Mutation.markNotificationsRead(…).all is required but not in the contract',
        'enum Role has ADMIN OWNER STANDARD, the contract says ADMIN STANDARD',
        'Contact.jobTitle is missing',
        'ContactInput.jobTitle is missing',
      ]),
    );
  });
});
