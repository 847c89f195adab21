import { createRequire } from 'node:module';

/**
 * drizzle-orm, loaded from its CommonJS build: every runtime import of drizzle-orm in src/ goes through this file
 * (types may still come from 'drizzle-orm' with `import type`, which leaves no import behind).
 *
 * Why: Node's ESM loader looks up the package scope of every module it loads and re-parses that package.json each
 * time (node 24: `getPackageScopeConfig` → `deserializePackageJSON`, uncached). drizzle-orm's package.json is a
 * 180 KB `exports` map and pg-core alone is a few hundred modules, so `import 'drizzle-orm/pg-core'` took ~1.6 s
 * and ~150 MB of short-lived garbage; `require` of the same code took ~0.2 s (same machine, same run). That was
 * most of `npm start`'s time to the GraphiQL line (bench/startup.ts). The CommonJS files require each other by
 * relative path, so no package.json is read per module. Mixing the two builds is harmless for drizzle's own
 * checks (`is()` compares `Symbol.for` entity kinds), but a class such as DrizzleQueryError must come from one
 * build for `instanceof`: hence one place.
 */
const require = createRequire(import.meta.url);
const core = require('drizzle-orm') as typeof import('drizzle-orm');
const pgCore = require('drizzle-orm/pg-core') as typeof import('drizzle-orm/pg-core');
const nodePostgres = require('drizzle-orm/node-postgres') as typeof import('drizzle-orm/node-postgres');

export const { and, count, desc, eq, inArray, isNull, lt, or, sql, DrizzleQueryError, getTableColumns, getTableName } = core;

export const {
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  date,
  doublePrecision,
  foreignKey,
  getTableConfig,
  index,
  integer,
  jsonb,
  pgSequence,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} = pgCore;

export const { drizzle } = nodePostgres;

/** The migrator: loaded only when a migration is pending (a first start, an upgrade). */
export function loadMigrator(): typeof import('drizzle-orm/node-postgres/migrator') {
  return require('drizzle-orm/node-postgres/migrator') as typeof import('drizzle-orm/node-postgres/migrator');
}
