import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/cli.ts';

/*
 * src/db/drizzle-orm.ts loads drizzle-orm's CommonJS build (its ESM build costs each start over a second, see that
 * file). One ESM value import elsewhere would load the ESM build as well: the cost back, and two DrizzleQueryError
 * classes (instanceof would miss). Type-only imports leave nothing in the compiled code and stay allowed.
 */
const SHIM = path.join('src', 'db', 'drizzle-orm.ts');

/** The value imports of drizzle-orm in a module's source (static, side-effect or dynamic). */
function drizzleValueImports(source: string): string[] {
  const statics = source.match(/^import\s+(?!type\s)[^;]*?from\s+'drizzle-orm[^']*';/gms) ?? [];
  const bare = source.match(/^import\s+'drizzle-orm[^']*';/gm) ?? [];
  const dynamic = source.match(/import\(\s*'drizzle-orm[^']*'\s*\)/g) ?? [];
  return [...statics, ...bare, ...dynamic];
}

describe('drizzle-orm is loaded through src/db/drizzle-orm.ts only', () => {
  it('no other module of src/ imports a value from drizzle-orm', async () => {
    const files = (await fs.readdir(path.join(REPO, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts'));
    const offenders: string[] = [];
    for (const file of files) {
      if (path.join('src', file) === SHIM) continue;
      const found = drizzleValueImports(await fs.readFile(path.join(REPO, 'src', file), 'utf8'));
      if (found.length > 0) offenders.push(`src/${file}: ${found.join(' ')}`);
    }
    expect(offenders).toEqual([]);
  });

  it('the check catches value imports, side-effect and dynamic ones, and lets type-only imports through', () => {
    expect(drizzleValueImports("import { sql } from 'drizzle-orm';")).toHaveLength(1);
    expect(drizzleValueImports("import {\n  pgTable,\n  type AnyPgColumn,\n} from 'drizzle-orm/pg-core';")).toHaveLength(1);
    expect(drizzleValueImports("import 'drizzle-orm/pg-core';")).toHaveLength(1);
    expect(drizzleValueImports("const m = await import('drizzle-orm/node-postgres/migrator');")).toHaveLength(1);
    expect(drizzleValueImports("import type { SQL } from 'drizzle-orm';\nimport type { PgTable } from 'drizzle-orm/pg-core';")).toEqual([]);
  });
});
