import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/*
 * Each import attempt keeps its local copy of the source (and an XLSX extracted from a ZIP) in a directory of its
 * own, removed however the attempt ends. A process killed mid-import cannot: its directory is swept when imports
 * start again (at worker start and by each later attempt). The name carries host and pid, so only directories of
 * processes on this host that no longer run are touched, never those of a concurrent import.
 */

export const IMPORT_TEMP_PREFIX = 'crm-import-';
const HOST = os.hostname().replace(/[^A-Za-z0-9]/g, '_');
const NAME = /^crm-import-(.+)-(\d+)-[A-Za-z0-9]{6}$/;

export async function createImportTempDir(parent: string): Promise<string> {
  await sweepImportTempDirs(parent);
  return mkdtemp(path.join(parent, `${IMPORT_TEMP_PREFIX}${HOST}-${process.pid}-`));
}

/** Removes the directories that dead processes of this host left under `parent`; returns how many. */
export async function sweepImportTempDirs(parent: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return 0; // mkdtemp reports an unusable parent right after, with the real reason
  }
  let removed = 0;
  for (const name of names) {
    const match = NAME.exec(name);
    if (!match || match[1] !== HOST || isRunning(Number(match[2]))) continue;
    // Housekeeping for someone else's crash: failing at it must not fail this import; a later one retries.
    await rm(path.join(parent, name), { recursive: true, force: true }).then(() => (removed += 1), () => undefined);
  }
  return removed;
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
