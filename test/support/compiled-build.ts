import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from './cli.ts';

const run = promisify(execFile);

/** The compiled entry point that `bin/crm-data-admin` runs. */
export const COMPILED_ENTRY = path.join(REPO, 'dist/main.js');

async function newestSourceMs(): Promise<number> {
  const files = await fs.readdir(path.join(REPO, 'src'), { recursive: true });
  const stats = await Promise.all(files.map((f) => fs.stat(path.join(REPO, 'src', f))));
  return Math.max(...stats.map((s) => s.mtimeMs));
}

/** `npm ci` built dist/; a developer who edited a source since then gets it rebuilt rather than a stale run. */
export async function ensureBuilt(): Promise<void> {
  const built = await fs.stat(COMPILED_ENTRY).then((s) => s.mtimeMs, () => 0);
  if (built >= (await newestSourceMs())) return;
  await run('npm', ['run', 'build'], { cwd: REPO });
}
