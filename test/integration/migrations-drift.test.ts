import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/db/migrate.ts';

const ROOT = path.resolve(MIGRATIONS_DIR, '..');

/**
 * The tables (src/modules/*\/*.table.ts) and the committed SQL in migrations/ must agree: drizzle-kit,
 * run on a copy of migrations/, must find nothing to generate.
 */
describe('migrations/', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-drift-'));
    await cp(MIGRATIONS_DIR, path.join(dir, 'migrations'), { recursive: true });
    // A plain object (no import of drizzle-kit): the config lives outside the project's node_modules.
    await writeFile(
      path.join(dir, 'drizzle.config.mjs'),
      // drizzle-kit resolves both paths against its working directory (the temp dir).
      `export default ${JSON.stringify({ dialect: 'postgresql', schema: path.relative(dir, path.join(ROOT, 'src/db/schema.ts')), out: './migrations' })};\n`,
    );
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('matches the tables (when this fails: `npm run db:generate`)', { timeout: 120_000 }, async () => {
    const before = (await readdir(path.join(dir, 'migrations'))).sort();
    const { stdout, stderr } = await promisify(execFile)(
      path.join(ROOT, 'node_modules/.bin/drizzle-kit'),
      ['generate', `--config=${path.join(dir, 'drizzle.config.mjs')}`],
      { cwd: dir, timeout: 110_000 },
    );
    const output = `${stdout}\n${stderr}`;
    const after = (await readdir(path.join(dir, 'migrations'))).sort();
    const message = `the tables differ from migrations/: run \`npm run db:generate\` (nothing has shipped yet, so regenerate the initial migration: rm -rf migrations && npx drizzle-kit generate --name init). drizzle-kit said:\n${output}`;
    expect(after, message).toEqual(before);
    expect(output, message).toMatch(/No schema changes/i);
  });
});
