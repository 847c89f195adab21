import { UnreadableFileError } from './table.types.ts';

/**
 * Hard caps on what an import file may make the parser do (issue 9). Each is far beyond a real CRM file and each
 * names its environment variable when crossed, so an operator knows which one to raise. Checked by the readers
 * through the functions below (kept apart from the readers' own logic on purpose).
 */
export interface ImportLimits {
  /** IMPORT_MAX_ENTRY_BYTES: uncompressed bytes of one ZIP entry (a module file, a worksheet, a manifest). */
  maxEntryBytes: number;
  /** IMPORT_MAX_TOTAL_BYTES: uncompressed bytes of all entries of one ZIP together. */
  maxTotalBytes: number;
  /** IMPORT_MAX_COMPRESSION_RATIO: uncompressed / compressed size of an entry (entries over 1 MiB). */
  maxCompressionRatio: number;
  /** IMPORT_MAX_ZIP_ENTRIES: entries in one ZIP (a backup, or the package of an XLSX). */
  maxZipEntries: number;
  /** IMPORT_MAX_COLUMNS: cells per row of a CSV, columns of a worksheet. */
  maxColumns: number;
  /** IMPORT_MAX_SHARED_STRINGS_BYTES: uncompressed size of an XLSX's shared strings (they are held in memory). */
  maxSharedStringsBytes: number;
  /** IMPORT_MAX_RECORD_BYTES: characters of one CSV record, one XML tag or text, one cell. */
  maxRecordBytes: number;
  /** IMPORT_MAX_MANIFEST_BYTES: size of a backup's manifest.json. */
  maxManifestBytes: number;
}

export const DEFAULT_IMPORT_LIMITS: Readonly<ImportLimits> = Object.freeze({
  maxEntryBytes: 2 * 1024 ** 3,
  maxTotalBytes: 8 * 1024 ** 3,
  maxCompressionRatio: 200,
  maxZipEntries: 10_000,
  maxColumns: 512,
  maxSharedStringsBytes: 128 * 1024 ** 2,
  maxRecordBytes: 1024 ** 2,
  maxManifestBytes: 1024 ** 2,
});

/** The grid of a worksheet (ECMA-376; Excel's own): columns A..XFD, rows 1..1,048,576. */
export const SHEET_MAX_COLUMNS = 16_384;
export const SHEET_MAX_ROWS = 1_048_576;
/** Small entries may compress by any ratio without harm; the ratio is checked above this size. */
const RATIO_FLOOR_BYTES = 1024 ** 2;
/** How much of any input an error message may quote. */
export const EXCERPT_CHARS = 100;

/** A file refused because it crosses one of the caps; the import then ends FAILED with this message. */
export class ImportLimitError extends UnreadableFileError {
  constructor(file: string, reason: string) {
    super(file, reason);
    this.name = 'ImportLimitError';
  }
}

/** At most `max` characters of untrusted text, marked when cut: error messages never repeat an input whole. */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

const mib = (bytes: number): string => (bytes >= 1024 ** 2 ? `${Math.round((bytes / 1024 ** 2) * 10) / 10} MiB` : `${bytes} bytes`);

export function checkZipEntryCount(count: number, limits: ImportLimits, file: string): void {
  if (count > limits.maxZipEntries) {
    throw new ImportLimitError(file, `holds ${count} ZIP entries, more than the limit IMPORT_MAX_ZIP_ENTRIES (${limits.maxZipEntries})`);
  }
}

/** Checks one entry's announced sizes (yauzl then holds the entry to them while it is read). */
export function checkZipEntrySize(name: string, uncompressed: number, compressed: number, limits: ImportLimits, file: string): void {
  const entry = excerpt(name);
  if (uncompressed > limits.maxEntryBytes) {
    throw new ImportLimitError(file, `entry ${entry} unpacks to ${mib(uncompressed)}, more than the limit IMPORT_MAX_ENTRY_BYTES (${mib(limits.maxEntryBytes)})`);
  }
  if (uncompressed > RATIO_FLOOR_BYTES && uncompressed / Math.max(compressed, 1) > limits.maxCompressionRatio) {
    const ratio = Math.round(uncompressed / Math.max(compressed, 1));
    throw new ImportLimitError(file, `entry ${entry} is compressed ${ratio}:1, more than the limit IMPORT_MAX_COMPRESSION_RATIO (${limits.maxCompressionRatio})`);
  }
}

export function checkZipTotalSize(total: number, limits: ImportLimits, file: string): void {
  if (total > limits.maxTotalBytes) {
    throw new ImportLimitError(file, `unpacks to ${mib(total)} in all, more than the limit IMPORT_MAX_TOTAL_BYTES (${mib(limits.maxTotalBytes)})`);
  }
}

export function checkSharedStringsSize(bytes: number, limits: ImportLimits, file: string): void {
  if (bytes > limits.maxSharedStringsBytes) {
    throw new ImportLimitError(file, `has ${mib(bytes)} of shared strings, more than the limit IMPORT_MAX_SHARED_STRINGS_BYTES (${mib(limits.maxSharedStringsBytes)})`);
  }
}

export function checkManifestSize(bytes: number, limits: ImportLimits, file: string): void {
  if (bytes > limits.maxManifestBytes) {
    throw new ImportLimitError(file, `has a manifest.json of ${mib(bytes)}, more than the limit IMPORT_MAX_MANIFEST_BYTES (${mib(limits.maxManifestBytes)})`);
  }
}

/** A row's width: CSV cells, or a worksheet cell's zero-based column. */
export function checkColumnCount(columns: number, limits: ImportLimits, file: string, row: number): void {
  if (columns > limits.maxColumns) {
    throw new ImportLimitError(file, `row ${row} has more than ${limits.maxColumns} columns, the limit IMPORT_MAX_COLUMNS`);
  }
}

/** A worksheet cell reference (`r="B7"`): inside the sheet grid, and within the column limit. */
export function checkCellReference(ref: string, col: number, row: number, limits: ImportLimits, file: string): void {
  if (col < 0 || col >= SHEET_MAX_COLUMNS || !Number.isInteger(row) || row < 1 || row > SHEET_MAX_ROWS) {
    throw new ImportLimitError(file, `has the cell reference ${excerpt(ref, 20)}, outside a worksheet (columns A to XFD, rows 1 to ${SHEET_MAX_ROWS})`);
  }
  checkColumnCount(col + 1, limits, file, row);
}

export function checkRowNumber(row: number, file: string): void {
  if (!Number.isInteger(row) || row < 1 || row > SHEET_MAX_ROWS) {
    throw new ImportLimitError(file, `has a row number outside a worksheet (1 to ${SHEET_MAX_ROWS})`);
  }
}

/** One cell's text (or one XML tag or text run) against IMPORT_MAX_RECORD_BYTES. */
export function checkTextLength(length: number, limits: ImportLimits, file: string): void {
  if (length > limits.maxRecordBytes) {
    throw new ImportLimitError(file, `has a cell or tag longer than ${mib(limits.maxRecordBytes)}, the limit IMPORT_MAX_RECORD_BYTES`);
  }
}

/**
 * A check run on each chunk of XML before the parser sees it: the parser buffers a tag (with its attributes) or
 * a text node whole, so a single 1 GB attribute would be held whole. This counts the characters between `<` and
 * `>` and between `>` and `<` and refuses a run over IMPORT_MAX_RECORD_BYTES before it is buffered.
 */
export function xmlTokenGuard(limits: ImportLimits, file: string): (chunk: string) => void {
  let inTag = false;
  let run = 0;
  return (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      const next = chunk.indexOf(inTag ? '>' : '<', at);
      if (next < 0) {
        run += chunk.length - at;
        break;
      }
      run += next - at;
      checkTextLength(run, limits, file);
      run = 0;
      inTag = !inTag;
      at = next + 1;
    }
    checkTextLength(run, limits, file);
  };
}
