import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

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
