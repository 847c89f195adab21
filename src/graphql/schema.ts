import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema } from 'type-graphql';
import { authChecker } from './auth-checker.ts';
import { resolvers } from './resolvers.ts';

export const SCHEMA_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schema/schema.graphql');

/**
 * Every subscription resolves through `context.services.pubsub` (LISTEN/NOTIFY, per app), via its own
 * `subscribe` option; type-graphql still insists on a schema-wide pubSub, which must never be used.
 */
const NO_SHARED_PUBSUB = {
  publish(): never {
    throw new Error('use context.services.pubsub');
  },
  subscribe(): never {
    throw new Error('use context.services.pubsub');
  },
};

let built: Promise<GraphQLSchema> | undefined;

/** The schema is the same for every app in a process: built once. */
export function buildAppSchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({ resolvers, authChecker, validate: false, pubSub: NO_SHARED_PUBSUB });
  return built;
}

/** The SDL committed as schema/schema.graphql: sorted, so that the file changes only when the API does. */
export async function printAppSchema(): Promise<string> {
  return `${printSchema(lexicographicSortSchema(await buildAppSchema()))}\n`;
}
