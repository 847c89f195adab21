import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
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

export async function openZip(path: string, label: string): Promise<ZipReader> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, strictFileNames: false });
  } catch (error) {
    throw new UnreadableFileError(label, `is not a readable ZIP file (${(error as Error).message})`);
  }
  const entries = new Map<string, yauzl.Entry>();
  try {
    for await (const entry of zip.eachEntry()) {
      if (!entry.fileName.endsWith('/')) entries.set(entry.fileName, entry);
    }
  } catch (error) {
    zip.close();
    throw new UnreadableFileError(label, `has a damaged ZIP directory (${(error as Error).message})`);
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
