import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCacheDir } from '../../src/shared/compile-cache.ts';
import { BIN, REPO } from '../support/cli.ts';
import { ensureBuilt } from '../support/compiled-build.ts';
import { postGraphQL } from '../support/test-app.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/*
 * The rest of the suite runs the TypeScript sources; this file runs what `npm install` / `npm ci` builds (the
 * `prepare` script), started the way a user starts it, with no TypeScript loader: a backup proves that the archive
 * worker thread loads from dist/ too.
 */

function waitForLines(child: ChildProcess, count: number, timeoutMs: number): Promise<string[]> {
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up lines in ${timeoutMs} ms: ${out}${err}`)), timeoutMs);
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.trim().split('\n');
      if (lines.length < count) return;
      clearTimeout(timer);
      resolve(lines);
    });
  });
}

describe('the compiled service, started as a user starts it', () => {
  let db: TestDatabase;
  let dataDir: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    [db, dataDir] = await Promise.all([
      createTestDatabase(),
      fs.mkdtemp(path.join(os.tmpdir(), 'compiled-start-')),
      ensureBuilt(),
    ]);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await db?.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('serves from dist/ with no TypeScript loader, and a backup completes in its worker thread', async () => {
    const launcher = await fs.readFile(BIN, 'utf8');
    expect(launcher).toContain('dist/main.js');
    expect(launcher).not.toContain('tsx');

    child = spawn(BIN, ['serve'], {
      cwd: REPO,
      env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: db.url, DATA_DIR: dataDir, APP_SECRET: 'compiled-start-secret-0123456789abcdef01', PORT: '0', LOG_LEVEL: 'warn' },
    });
    const lines = await waitForLines(child, 2, 30_000);
    const url = lines[0]!.replace(/^GraphiQL: /, '').replace(/\/graphql$/, '');
    const token = lines[1]!.replace(/^ADMIN token: /, '');
    expect(token).toMatch(/^cda_/);

    const started = await postGraphQL<{ startManualBackup: { id: string } }>(url, token, 'mutation { startManualBackup { id } }');
    expect(started.errors).toBeUndefined();
    const id = started.data!.startManualBackup.id;
    const deadline = Date.now() + 40_000;
    type Backup = { status: string; error: string | null; modules: { recordCount: number }[] } | null;
    let backup: Backup = null;
    while (Date.now() < deadline) {
      const res = await postGraphQL<{ backup: Backup }>(url, token, 'query ($id: ID!) { backup(id: $id) { status error modules { recordCount } } }', { id });
      backup = res.data!.backup;
      if (backup && !['PENDING', 'RUNNING'].includes(backup.status)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(backup).toMatchObject({ status: 'COMPLETED', error: null });
    // The first-run demo data (480 records) went through the worker thread into the archive.
    expect(backup!.modules.reduce((n, m) => n + m.recordCount, 0)).toBe(480);
    const archives = await fs.readdir(path.join(dataDir, 'backups'), { recursive: true });
    expect(archives.some((f) => f.endsWith('.zip'))).toBe(true);
  });

  it('leaves Node\'s compile cache under DATA_DIR when it stops, for the next start to load from', async () => {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
    const cached = await fs.readdir(compileCacheDir(dataDir), { recursive: true });
    expect(cached.length).toBeGreaterThan(0);
  });

  it('gives a worker process its young-generation cap (its peak RSS depends on it) and an api V8\'s default heap', async () => {
    const flagsOf = async (role: string) => {
      const proc = spawn(BIN, ['serve', '--role', role], {
        cwd: REPO,
        env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: db.url, DATA_DIR: dataDir, APP_SECRET: 'compiled-start-secret-0123456789abcdef01', PORT: '0', LOG_LEVEL: 'info' },
      });
      try {
        await new Promise<void>((resolve, reject) => {
          let err = '';
          proc.stderr.on('data', (d: Buffer) => ((err += d.toString()).includes('crm-data-admin started') ? resolve() : undefined));
          proc.once('exit', (code) => reject(new Error(`${role} exited with ${code}: ${err}`)));
        });
        // The launcher execs node, so its process is the service's: its command line shows the flags it got.
        return (await fs.readFile(`/proc/${proc.pid}/cmdline`, 'utf8')).split('\0').filter((a) => a.startsWith('--max-'));
      } finally {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGTERM');
        await exited;
      }
    };
    expect(await flagsOf('worker')).toEqual(['--max-semi-space-size=8']);
    expect(await flagsOf('api')).toEqual([]);
  });

  it('still starts when the compile cache cannot be written (its folder is taken by a file)', async () => {
    const otherDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'compiled-start-nocache-'));
    try {
      await fs.writeFile(path.join(otherDataDir, 'cache'), 'not a folder');
      child = spawn(BIN, ['serve'], {
        cwd: REPO,
        env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: db.url, DATA_DIR: otherDataDir, APP_SECRET: 'compiled-start-secret-0123456789abcdef01', PORT: '0', LOG_LEVEL: 'warn' },
      });
      const [line] = await waitForLines(child, 1, 30_000);
      const health = await fetch(new URL('/healthz', line!.replace(/^GraphiQL: /, '')));
      expect(health.status).toBe(200);
    } finally {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child!.kill('SIGTERM');
      await exited;
      await fs.rm(otherDataDir, { recursive: true, force: true });
    }
  });
});
