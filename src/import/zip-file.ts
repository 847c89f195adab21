import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { checkZipEntryCount, checkZipEntrySize, checkZipTotalSize, DEFAULT_IMPORT_LIMITS, type ImportLimits } from './import-limits.ts';
import { UnreadableFileError } from './table.types.ts';

/**
 * Random access to a ZIP on disk (yauzl reads the central directory, then any entry in any order), which both
 * the backup archive and XLSX files (themselves ZIPs) need: a streaming unzip would have to spool entries that
 * come "too early" to disk.
 */
export interface ZipReader {
  names(): string[];
  has(name: string): boolean;
  /** The uncompressed size the directory announces (yauzl checks it while reading). */
  size(name: string): number;
  open(name: string): Promise<Readable>;
  close(): void;
}

/**
 * Opens the ZIP and checks its directory against the limits before any entry is read: the entry count, each
 * entry's announced size and compression ratio, and their total. yauzl then holds every entry to its announced
 * size while it is read (`validateEntrySizes`), so the announced sizes are the real ones.
 */
export async function openZip(path: string, label: string, limits: ImportLimits = DEFAULT_IMPORT_LIMITS): Promise<ZipReader> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, strictFileNames: false, validateEntrySizes: true });
  } catch (error) {
    throw new UnreadableFileError(label, `is not a readable ZIP file (${excerptOf(error)})`);
  }
  const entries = new Map<string, yauzl.Entry>();
  try {
    checkZipEntryCount(zip.entryCount, limits, label);
    let total = 0;
    for await (const entry of zip.eachEntry()) {
      checkZipEntrySize(entry.fileName, entry.uncompressedSize, entry.compressedSize, limits, label);
      total += entry.uncompressedSize;
      checkZipTotalSize(total, limits, label);
      if (!entry.fileName.endsWith('/')) entries.set(entry.fileName, entry);
    }
  } catch (error) {
    zip.close();
    if (error instanceof UnreadableFileError) throw error;
    throw new UnreadableFileError(label, `has a damaged ZIP directory (${excerptOf(error)})`);
  }
  return {
    names: () => [...entries.keys()],
    has: (name) => entries.has(name),
    size: (name) => entries.get(name)?.uncompressedSize ?? 0,
    open: async (name) => {
      const entry = entries.get(name);
      if (!entry) throw new UnreadableFileError(label, `has no entry ${name}`);
      if (entry.isEncrypted()) throw new UnreadableFileError(label, `entry ${name} is encrypted`);
      return zip.openReadStreamPromise(entry);
    },
    close: () => zip.close(),
  };
}

const excerptOf = (error: unknown): string => (error instanceof Error ? error.message : String(error)).slice(0, 200);
