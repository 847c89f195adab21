import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = path.resolve('bin/check-node.mjs');
const dirs: string[] = [];

/** bin/check-node.mjs beside a package.json of our choosing: the minimum is read from `engines.node`. */
async function checkWith(engines: string): Promise<{ code: number; stderr: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'check-node-'));
  dirs.push(dir);
  await fs.mkdir(path.join(dir, 'bin'));
  await fs.copyFile(script, path.join(dir, 'bin/check-node.mjs'));
  await fs.writeFile(path.join(dir, 'package.json'), JSON.stringify({ engines: { node: engines } }));
  try {
    const { stderr } = await run(process.execPath, [path.join(dir, 'bin/check-node.mjs')]);
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

afterAll(async () => {
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

describe('the Node.js version gate of npm start and the CLI', () => {
  it('lets a Node at or above the minimum through, silently', async () => {
    const [major, minor] = process.versions.node.split('.');
    expect(await checkWith(`>=${major}.${minor}`)).toEqual({ code: 0, stderr: '' });
  });

  it('refuses an older Node with exit code 1 and one line naming the required version', async () => {
    const result = await checkWith('>=999.1');
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('needs Node.js >=999.1');
    expect(result.stderr).toContain(`this is Node ${process.versions.node}`);
  });

  it('runs before the service loads when started through bin/entry.mjs, which loads it once the check passes', async () => {
    const entryWith = async (engines: string) => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'check-node-entry-'));
      dirs.push(dir);
      await fs.mkdir(path.join(dir, 'bin'));
      await fs.mkdir(path.join(dir, 'dist'));
      await fs.copyFile(script, path.join(dir, 'bin/check-node.mjs'));
      await fs.copyFile(path.resolve('bin/entry.mjs'), path.join(dir, 'bin/entry.mjs'));
      await fs.writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', engines: { node: engines } }));
      await fs.writeFile(path.join(dir, 'dist/main.js'), "process.stdout.write('service loaded');\n");
      return run(process.execPath, [path.join(dir, 'bin/entry.mjs')]).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
      );
    };
    const [major, minor] = process.versions.node.split('.');
    expect(await entryWith(`>=${major}.${minor}`)).toEqual({ code: 0, stdout: 'service loaded', stderr: '' });
    const refused = await entryWith('>=999.1');
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toContain('needs Node.js >=999.1');
  });

  it('reads the minimum of the real package.json', async () => {
    const pkg = JSON.parse(await fs.readFile('package.json', 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toMatch(/^>=\s*22\.12/);
    await expect(run(process.execPath, [script])).resolves.toMatchObject({ stderr: '' });
  });
});
