import { rm } from 'node:fs/promises';
import os from 'node:os';
import { createArchiveTempDir } from './archive-temp-dir.ts';
import { ArchiveAssembler, type ModuleArchiveResult, type ProgressListener } from './archive-assembler.ts';
import { MODULE_NAMES, type ModuleName } from './module-columns.ts';
import { type ExportJob, exportModules } from './module-exporter.ts';
import { runExportInWorker, type WorkerLimits } from './worker-channel.ts';
import { XLSX_MAX_DATA_ROWS } from './xlsx-writer.ts';
import { ZipWriter } from './zip-writer.ts';
import { slugify } from '../shared/slug.ts';

export type { ArchiveProgress, ModuleArchiveResult, ProgressListener } from './archive-assembler.ts';

/** API.md §6 "Archive format 2": XLSX text verbatim (quotePrefix style, no `'`); CSV as in format 1. */
export const ARCHIVE_FORMAT_VERSION = 2;
const DEFAULT_GENERATOR = 'crm-data-admin';

export interface BuildArchiveOptions {
  connectionString: string;
  organizationId: string;
  organization: { id: string; name: string };
  backupId: string;
  trigger: 'MANUAL' | 'SCHEDULED';
  createdAt: Date;
  /** Modules to include, in this order; all four by default. */
  modules?: readonly ModuleName[];
  /** The caller's temporary file; buildArchive ends it, or destroys it on failure. */
  out: NodeJS.WritableStream;
  /** Called at the start of each module, every 5,000 rows and at its end; the export waits for a returned promise. */
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Data rows per worksheet before `name (2)` begins (Excel's limit by default). */
  xlsxRowLimit?: number;
  generator?: string;
  /** Where the XLSX files wait to be copied into the archive (the OS temp dir by default). */
  tempDir?: string;
  /** Run the exporter on this thread (debugging, profiling); a worker thread by default. */
  inline?: boolean;
  workerLimits?: WorkerLimits;
}

export interface ArchiveResult {
  snapshotAt: Date;
  modules: ModuleArchiveResult[];
  sizeBytes: number;
  /** SHA-256 (hex) of the whole zip file. */
  sha256: string;
}


/**
 * Writes the backup archive of API.md §5 to `opts.out`: for each module its CSV (deflated) and XLSX (stored), then
 * `manifest.json`. Every row comes from one REPEATABLE READ snapshot. A failure anywhere (arguments, database,
 * worker, disk, progress listener) or an abort rejects, after the worker, its connection, the temporary files and
 * `out` are torn down.
 */
export async function buildArchive(opts: BuildArchiveOptions): Promise<ArchiveResult> {
  let modules: readonly ModuleName[];
  let tempDir: string;
  try {
    modules = checkOptions(opts);
    opts.signal?.throwIfAborted();
    tempDir = await createArchiveTempDir(opts.tempDir ?? os.tmpdir());
  } catch (error) {
    // The caller may be waiting for `out` to finish or close (e.g. piping it on): it must not wait forever.
    (opts.out as NodeJS.WritableStream & { destroy?: () => void }).destroy?.();
    throw error;
  }
  const zip = new ZipWriter(opts.out, { level: 1, date: opts.createdAt });
  const stop = new AbortController();
  const onAbort = (): void => {
    stop.abort(opts.signal?.reason);
    zip.abort(asError(opts.signal?.reason)); // also unblocks an exporter waiting for the archive to take a chunk
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const assembler = new ArchiveAssembler(zip, opts.onProgress);
    const job: ExportJob = {
      connectionString: opts.connectionString,
      organizationId: opts.organizationId,
      modules,
      tempDir,
      xlsxRowLimit: opts.xlsxRowLimit,
      creator: opts.generator ?? DEFAULT_GENERATOR,
      createdAtMs: opts.createdAt.getTime(),
    };
    await (opts.inline
      ? exportModules(job, assembler, stop.signal)
      : runExportInWorker(job, assembler, stop.signal, opts.workerLimits));
    const snapshotAt = assembler.snapshotAt;
    if (!snapshotAt) throw new Error('the export ended without taking its snapshot');
    const manifest = manifestOf(opts, snapshotAt, assembler.modules);
    zip.appendBuffer('manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
    const { bytes, sha256 } = await zip.finalize();
    return { snapshotAt, modules: [...assembler.modules], sizeBytes: bytes, sha256 };
  } catch (error) {
    // Report the root cause: the abort reason, or the archive's own failure (disk full) over its consequences.
    const reason: unknown = opts.signal?.aborted ? opts.signal.reason : (zip.failure ?? error);
    stop.abort(reason);
    zip.abort(asError(reason));
    throw reason;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await rm(tempDir, { recursive: true, force: true });
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function checkOptions(opts: BuildArchiveOptions): readonly ModuleName[] {
  if (opts.organization.id !== opts.organizationId) {
    throw new Error(`organization.id (${opts.organization.id}) differs from organizationId (${opts.organizationId})`);
  }
  if (Number.isNaN(opts.createdAt.getTime())) throw new Error('createdAt is not a valid date');
  const modules = opts.modules ?? MODULE_NAMES;
  for (const module of modules) {
    if (!MODULE_NAMES.includes(module)) throw new Error(`unknown module ${String(module)}`);
  }
  if (new Set(modules).size !== modules.length) throw new Error(`modules listed twice: ${modules.join(', ')}`);
  const limit = opts.xlsxRowLimit;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= XLSX_MAX_DATA_ROWS)) {
    throw new Error(`xlsxRowLimit must be an integer from 1 to ${XLSX_MAX_DATA_ROWS}, got ${limit}`);
  }
  return modules;
}

function manifestOf(opts: BuildArchiveOptions, snapshotAt: Date, modules: readonly ModuleArchiveResult[]): object {
  return {
    formatVersion: ARCHIVE_FORMAT_VERSION,
    backupId: opts.backupId,
    organization: { id: opts.organization.id, name: opts.organization.name },
    trigger: opts.trigger,
    snapshotAt: snapshotAt.toISOString(),
    createdAt: opts.createdAt.toISOString(),
    modules,
    generator: opts.generator ?? DEFAULT_GENERATOR,
  };
}

/** `crm-backup-<organization slug>-<yyyyMMdd'T'HHmmss'Z'>.zip` (UTC). */
export function archiveFileName(orgName: string, at: Date): string {
  const stamp = at.toISOString().replace(/\.\d{3}Z$/, 'Z').replaceAll('-', '').replaceAll(':', '');
  return `crm-backup-${slugify(orgName)}-${stamp}.zip`;
}
