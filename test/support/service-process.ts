import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { REPO } from './cli.ts';
import { COMPILED_ENTRY } from './compiled-build.ts';

/** One `crm-data-admin serve --role …` process of the compiled build, as deployed. */
export interface ServiceProcess {
  role: 'api' | 'worker';
  child: ChildProcess;
  /** Its HTTP server (GraphQL on an api, health and metrics on a worker). */
  url: string;
  /** What it printed on stdout (an api's first start: the GraphiQL line and the demo tokens). */
  stdout(): string;
  stderr(): string;
}

/**
 * Starts `node dist/main.js serve --role ROLE` with PORT=0 and resolves once it logged "crm-data-admin started"
 * (JSON on stderr, LOG_LEVEL=info), with the URL it listens on.
 */
export function startServiceProcess(role: 'api' | 'worker', env: Record<string, string>, timeoutMs = 60_000): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [COMPILED_ENTRY, 'serve', '--role', role], {
    cwd: REPO,
    env: { ...process.env, NODE_OPTIONS: '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} did not start in ${timeoutMs} ms: ${err}`)), timeoutMs);
    const onExit = (code: number | null) => reject(new Error(`${role} exited with ${code}: ${err}`));
    child.once('exit', onExit);
    child.stderr!.on('data', (d: Buffer) => {
      const before = err.includes('crm-data-admin started');
      err += d.toString();
      if (before) return;
      const line = err.split('\n').find((l) => l.includes('crm-data-admin started') && l.endsWith('}'));
      if (!line) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve({ role, child, url: (JSON.parse(line) as { url: string }).url, stdout: () => out, stderr: () => err });
    });
  });
}

/** SIGTERM (a graceful drain), SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopServiceProcess(proc: ServiceProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Whether the process has a file open whose path matches (Linux /proc: which worker writes an archive). */
export async function hasOpenFile(pid: number, matches: (file: string) => boolean): Promise<boolean> {
  const fdDir = `/proc/${pid}/fd`;
  const fds = await fs.readdir(fdDir).catch(() => [] as string[]);
  for (const fd of fds) {
    const target = await fs.readlink(path.join(fdDir, fd)).catch(() => '');
    if (matches(target)) return true;
  }
  return false;
}

/** A CLI command of the compiled build (`node dist/main.js …`), as an operator runs it next to the services. */
export function runCompiledCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [COMPILED_ENTRY, ...args], {
    cwd: REPO,
    env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
