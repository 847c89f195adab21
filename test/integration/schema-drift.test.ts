import { readFile } from 'node:fs/promises';
import { buildSchema, isEnumType, isObjectType, type GraphQLSchema } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { printAppSchema, SCHEMA_FILE } from '../../src/graphql/schema.ts';

/** The foundation's part of API.md §3; the features add their own types to this check in their tests. */
const FOUNDATION: Record<string, string[]> = {
  Query: ['viewer', 'organization', 'leads', 'lead', 'contacts', 'contact', 'accounts', 'deals', 'notifications', 'activityStream'],
  Mutation: [
    ...['Lead', 'Contact', 'Account', 'Deal'].flatMap((n) => [`create${n}`, `update${n}`, `delete${n}`]),
    'markNotificationsRead',
  ],
  Subscription: ['notificationAdded'],
  Organization: ['id', 'name', 'timezone'],
  User: ['id', 'email', 'name', 'role'],
  Lead: ['id', 'firstName', 'lastName', 'email', 'phone', 'company', 'title', 'status', 'source', 'notes', 'owner', 'createdAt', 'updatedAt', 'retention'],
  Contact: ['id', 'firstName', 'lastName', 'email', 'phone', 'jobTitle', 'address', 'notes', 'account', 'owner', 'createdAt', 'updatedAt', 'retention'],
  Account: ['id', 'name', 'domain', 'industry', 'phone', 'address', 'owner', 'createdAt', 'updatedAt'],
  Deal: ['id', 'name', 'amount', 'currency', 'stage', 'closeDate', 'account', 'contact', 'owner', 'createdAt', 'updatedAt'],
  RecordRetention: ['state', 'retentionEndsAt', 'deletesAt', 'maskedAt', 'legalHold'],
  ActivityEvent: ['id', 'kind', 'actor', 'summary', 'subjectType', 'subjectId', 'createdAt'],
  Notification: ['id', 'kind', 'title', 'body', 'backupId', 'readAt', 'createdAt'],
  PageInfo: ['hasNextPage', 'endCursor'],
  ...Object.fromEntries(['Lead', 'Contact', 'Account', 'Deal', 'ActivityEvent'].map((n) => [`${n}Connection`, ['nodes', 'pageInfo', 'totalCount']])),
};
const ENUMS: Record<string, string[]> = {
  Role: ['ADMIN', 'STANDARD'],
  CrmModule: ['LEADS', 'CONTACTS', 'ACCOUNTS', 'DEALS'],
  RetentionState: ['ACTIVE', 'EXPIRED', 'MASKED'],
};
const ARGS: [string, string, string[]][] = [
  ['Query', 'leads', ['first', 'after', 'retentionState']],
  ['Query', 'contacts', ['first', 'after', 'retentionState']],
  ['Query', 'accounts', ['first', 'after']],
  ['Query', 'deals', ['first', 'after']],
  ['Query', 'activityStream', ['first', 'after', 'kinds']],
  ['Query', 'notifications', ['unreadOnly', 'first']],
  ['Mutation', 'markNotificationsRead', ['ids']],
];

describe('schema/schema.graphql', () => {
  let sdl: string;
  let schema: GraphQLSchema;
  beforeAll(async () => {
    sdl = await printAppSchema();
    schema = buildSchema(sdl);
  });

  it('is what the code builds (run `npm run schema:emit` and commit the file when this fails)', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    expect(sdl === committed, 'schema/schema.graphql is out of date: run `npm run schema:emit` and commit it').toBe(true);
  });

  it.each(Object.entries(FOUNDATION))('has type %s with every field of API.md §3', (type, fields) => {
    const t = schema.getType(type);
    expect(isObjectType(t), `type ${type} is missing`).toBe(true);
    if (!isObjectType(t)) return;
    expect(Object.keys(t.getFields())).toEqual(expect.arrayContaining(fields));
  });

  it.each(Object.entries(ENUMS))('has enum %s with exactly its API.md values', (name, values) => {
    const e = schema.getType(name);
    expect(isEnumType(e)).toBe(true);
    if (isEnumType(e)) expect(e.getValues().map((v) => v.name).sort()).toEqual([...values].sort());
  });

  it.each(ARGS)('has %s.%s with arguments %j', (type, field, args) => {
    const t = schema.getType(type);
    if (!isObjectType(t)) throw new Error(`${type} missing`);
    expect(t.getFields()[field]?.args.map((a) => a.name)).toEqual(expect.arrayContaining(args));
  });

  it('types ids as ID!, dates as DateTimeISO, and single-record lookups as nullable', () => {
    expect(sdl).toMatch(/lead\(id: ID!\): Lead\n/);
    expect(sdl).toMatch(/contact\(id: ID!\): Contact\n/);
    expect(sdl).toMatch(/createdAt: DateTimeISO!/);
    expect(sdl).toMatch(/viewer: User!/);
    expect(sdl).toMatch(/markNotificationsRead\(ids: \[ID!\]\): Int!/);
    expect(sdl).toMatch(/notifications\(first: Int, unreadOnly: Boolean\): \[Notification!\]!/);
  });
});
