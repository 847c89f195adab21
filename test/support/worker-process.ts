import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { tempStorageDir, type RunningApp } from './backup-helpers.ts';
import { createOrg, type TestOrg } from './factories.ts';
import { startTestApp } from './test-app.ts';

const WORKER_SCRIPT = path.resolve(import.meta.dirname, 'crash-worker.ts');

export interface WorkerProcess {
  child: ChildProcess;
  stderr(): string;
}

/** Starts test/support/crash-worker.ts in a process of its own (to be killed with SIGKILL); resolves once it runs. */
export function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve({ child, stderr: () => stderr });
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${stderr}`)));
  });
}

/**
 * The scene of a crash test: an api process (it runs no jobs) with an organization and a storage folder of its
 * own. The test starts the worker process it kills and the surviving worker; both are stopped after the file.
 */
export interface CrashScene {
  api: RunningApp;
  org: TestOrg;
  storage: string;
  worker?: WorkerProcess;
  survivor?: RunningApp;
}

export function useCrashScene(): CrashScene {
  const scene = {} as CrashScene;
  beforeAll(async () => {
    scene.storage = await tempStorageDir();
    scene.api = await startTestApp({ role: 'api', env: { STORAGE_DIR: scene.storage } });
    scene.org = await createOrg(scene.api.app);
  });
  afterAll(async () => {
    scene.worker?.child.kill('SIGKILL');
    await scene.survivor?.close();
    await scene.api?.close();
    if (scene.storage) await fs.rm(scene.storage, { recursive: true, force: true });
  });
  return scene;
}
