import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/*
 * Each build keeps its XLSX files in a directory of its own until they are in the archive, and removes it however
 * the build ends. A process killed mid-backup (DESIGN.md: the job is then retried) cannot: its directory is swept by
 * a later build instead. The name carries host and pid, so only directories of processes on this host that no
 * longer run are touched: never those of a concurrent build (this process or another).
 */

const PREFIX = 'crm-backup-';
const HOST = os.hostname().replace(/[^A-Za-z0-9]/g, '_');
const NAME = /^crm-backup-(.+)-(\d+)-[A-Za-z0-9]{6}$/;

/** Creates this build's directory under `parent`, after sweeping the ones dead processes left there. */
export async function createArchiveTempDir(parent: string): Promise<string> {
  await sweepStaleDirs(parent);
  return mkdtemp(path.join(parent, `${PREFIX}${HOST}-${process.pid}-`));
}

async function sweepStaleDirs(parent: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return; // mkdtemp reports an unusable parent right after, with the real reason
  }
  for (const name of names) {
    const match = NAME.exec(name);
    if (!match || match[1] !== HOST || isRunning(Number(match[2]))) continue;
    // Housekeeping for someone else's crash: failing at it must not fail this backup; a later one retries.
    await rm(path.join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, but belongs to another user
  }
}
