import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MODULE_SPECS } from '../../export/module-columns.ts';
import { openCsvTable } from '../../import/csv-reader.ts';
import { checkManifestSize, type ImportLimits } from '../../import/import-limits.ts';
import { UnreadableFileError, type TableReader } from '../../import/table.types.ts';
import { readXlsxTables } from '../../import/xlsx-reader.ts';
import { openZip, type ZipReader } from '../../import/zip-file.ts';
import { CRM_MODULE_NAMES, type CrmModuleName } from '../crm/crm.modules.ts';
import type { ImportFormat } from './import-job.repository.ts';

// Not import-columns.ts's: this file runs in the parser's worker thread, which loads only erasable TypeScript.
const fileBaseOf = (module: CrmModuleName): string => MODULE_SPECS[module].fileBase;

/**
 * Where an import's rows come from: a CSV or XLSX of one module, or a backup ZIP of several. Every source is a
 * local file (uploads and archives are copied out of the blob store first), so ZIPs and XLSX packages can be
 * read at random. Everything here runs in the import's parser thread (import-parse-worker.ts), held to `limits`.
 */
export interface LocalSource {
  format: ImportFormat;
  path: string;
  /** The name the user knows the file by (error reports). */
  fileName: string;
}

export interface ModuleTable {
  module: CrmModuleName;
  reader: TableReader;
  /**
   * Whether text cells carry §5's formula-guard `'` (import removes one): always in a CSV; in an XLSX only inside a
   * ZIP whose manifest says formatVersion 1. Format 2 XLSX text is verbatim (API.md §6), so a real leading `'` stays.
   */
  unescapeText: boolean;
}

/** References must resolve: accounts before contacts before deals (leads reference nothing). */
export const RESTORE_ORDER: readonly CrmModuleName[] = ['ACCOUNTS', 'CONTACTS', 'DEALS', 'LEADS'];

/** The tables of a source, in the order their rows are imported. `modules`: one for CSV/XLSX, the chosen ones for a ZIP. */
export async function* tablesOf(
  source: LocalSource,
  modules: readonly CrmModuleName[],
  tempDir: string,
  limits: ImportLimits,
): AsyncGenerator<ModuleTable> {
  if (source.format === 'CSV') {
    yield { module: modules[0]!, reader: await openCsvTable(createReadStream(source.path), source.fileName, limits), unescapeText: true };
    return;
  }
  if (source.format === 'XLSX') {
    for await (const reader of readXlsxTables(source.path, source.fileName, limits)) yield { module: modules[0]!, reader, unescapeText: false };
    return;
  }
  const zip = await openZip(source.path, source.fileName, limits);
  try {
    const entries = moduleEntries(zip, source.fileName);
    const xlsxEscaped = (await checkManifest(zip, source.fileName, limits)) === 1;
    for (const module of RESTORE_ORDER.filter((m) => modules.includes(m))) {
      const entry = entries.get(module);
      if (!entry) throw new UnreadableFileError(source.fileName, `holds no ${fileBaseOf(module)}.csv or ${fileBaseOf(module)}.xlsx`);
      yield* entryTables(zip, module, entry, tempDir, limits, xlsxEscaped);
    }
  } finally {
    zip.close();
  }
}

async function* entryTables(
  zip: ZipReader,
  module: CrmModuleName,
  entry: string,
  tempDir: string,
  limits: ImportLimits,
  xlsxEscaped: boolean,
): AsyncGenerator<ModuleTable> {
  if (entry.endsWith('.csv')) {
    yield { module, reader: await openCsvTable(await zip.open(entry), entry, limits), unescapeText: true };
    return;
  }
  // An XLSX inside the ZIP is itself a ZIP: it needs random access, so it is extracted first (its size was
  // checked against IMPORT_MAX_ENTRY_BYTES with the directory, and yauzl holds the entry to that size).
  const extracted = path.join(tempDir, `${fileBaseOf(module)}.xlsx`);
  await pipeline(await zip.open(entry), createWriteStream(extracted));
  try {
    for await (const reader of readXlsxTables(extracted, entry, limits)) yield { module, reader, unescapeText: xlsxEscaped };
  } finally {
    await fs.rm(extracted, { force: true });
  }
}

/**
 * The archive entry of each module (API.md §5: `contacts.csv` + `contacts.xlsx`). The CSV is preferred: it
 * holds the same rows and reads several times faster. A re-zipped folder works too (entries found by base name).
 */
export function moduleEntries(zip: ZipReader, label: string): Map<CrmModuleName, string> {
  const found = new Map<CrmModuleName, string>();
  for (const module of CRM_MODULE_NAMES) {
    for (const ext of ['csv', 'xlsx']) {
      const wanted = `${fileBaseOf(module)}.${ext}`;
      const matches = zip.names().filter((n) => n === wanted || n.endsWith(`/${wanted}`));
      if (matches.length > 1) throw new UnreadableFileError(label, `holds ${wanted} more than once`);
      if (matches[0] && !found.has(module)) found.set(module, matches[0]);
    }
  }
  return found;
}

/** Archive formats this service reads (API.md §5 and §6). */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1, 2];

/**
 * Checks the archive's manifest when there is one: a format this service does not know is refused. Returns its
 * formatVersion, or null for a ZIP without a manifest (a re-zipped folder: read as the current format).
 */
export async function checkManifest(zip: ZipReader, label: string, limits: ImportLimits): Promise<number | null> {
  if (!zip.has('manifest.json')) return null;
  // Read whole and parsed: only after its size is known to be small (yauzl holds the entry to that size).
  checkManifestSize(zip.size('manifest.json'), limits, label);
  let manifest: { formatVersion?: unknown };
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await zip.open('manifest.json')) chunks.push(chunk as Buffer);
    manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { formatVersion?: unknown };
  } catch {
    throw new UnreadableFileError(label, 'has a manifest.json that is not valid JSON');
  }
  const version = manifest.formatVersion;
  if (typeof version !== 'number' || !READABLE_FORMAT_VERSIONS.includes(version)) {
    throw new UnreadableFileError(label, `has archive format version ${String(version).slice(0, 20)}; this service reads versions ${READABLE_FORMAT_VERSIONS.join(' and ')}`);
  }
  return version;
}

/** The modules a ZIP import covers: the requested ones (each must be in the archive), else all it holds. */
export async function zipModules(source: LocalSource, requested: readonly CrmModuleName[] | null, limits: ImportLimits): Promise<CrmModuleName[]> {
  const zip = await openZip(source.path, source.fileName, limits);
  try {
    await checkManifest(zip, source.fileName, limits);
    const present = moduleEntries(zip, source.fileName);
    if (present.size === 0) throw new UnreadableFileError(source.fileName, 'holds no module file (leads.csv, contacts.csv, accounts.csv, deals.csv or their .xlsx)');
    const wanted = requested && requested.length > 0 ? [...new Set(requested)] : [...present.keys()];
    const absent = wanted.filter((m) => !present.has(m));
    if (absent.length > 0) {
      throw new UnreadableFileError(source.fileName, `holds no file for ${absent.join(', ')}`);
    }
    return RESTORE_ORDER.filter((m) => wanted.includes(m));
  } finally {
    zip.close();
  }
}
