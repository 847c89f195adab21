import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipArchive } from 'archiver';
import { ByteWriter } from './byte-writer.ts';
import { writableSink } from './chunk-writer.ts';
import { ENTRY_BUFFER_BYTES, ZLIB_CHUNK_BYTES } from './zip-writer.ts';
import type { ColumnSpec, RowValues } from './module-columns.ts';
import {
  contentTypesXml,
  coreXml,
  createSheetRowRenderer,
  rootRelsXml,
  SHEET_TAIL_XML,
  sheetHeadXml,
  stylesXml,
  workbookRelsXml,
  workbookXml,
} from './xlsx-xml.ts';

/** Excel's 1,048,576 rows per sheet, less the header row. */
export const XLSX_MAX_DATA_ROWS = 1_048_575;

export interface XlsxWriterOptions {
  /** Receives the .xlsx file; ended by `finish`. */
  out: NodeJS.WritableStream;
  /** Name of the first sheet; overflow sheets are `name (2)`, `name (3)`, … */
  sheetName: string;
  columns: readonly ColumnSpec[];
  /** Rows that will be written (counted in the same snapshot): the parts that list the sheets go first. */
  expectedRows: number;
  /** Data rows per sheet (tests use a small one). */
  rowLimit?: number;
  creator?: string;
  createdAt?: Date;
  /** zlib level of the parts; 1 is ~3x faster than the default for ~15% more bytes. */
  compressionLevel?: number;
}

/** Sheet names for `rows` data rows at `rowLimit` per sheet (always at least one sheet). */
export function plannedSheetNames(base: string, rows: number, rowLimit = XLSX_MAX_DATA_ROWS): string[] {
  const count = Math.max(1, Math.ceil(rows / rowLimit));
  return Array.from({ length: count }, (_v, i) => (i === 0 ? base : `${base} (${i + 1})`));
}

/** A worksheet part: its bytes wait in `writer` until `flush` hands them to `stream` (an archive entry). */
interface Sheet {
  stream: PassThrough;
  writer: ByteWriter;
  closed: boolean;
}

/**
 * Streams the workbook of one module: the fixed parts first, then sheet after sheet. Rows are written into
 * `writer` (by RowTranscoder, or `writeRow`) after `nextRowNumber()`, which also starts the next sheet when one is
 * full; `flush()` moves the bytes on with backpressure, so memory stays at a chunk or two per sheet.
 */
export class XlsxWriter {
  readonly #archive: ZipArchive;
  readonly #done: Promise<void>;
  readonly #columns: readonly ColumnSpec[];
  readonly #rowLimit: number;
  readonly #sheetNames: string[];
  readonly #expectedRows: number;
  /** Sheets not yet fully handed to the archive, oldest first; the last one takes the rows. */
  #sheets: Sheet[] = [];
  #sheetCount = 0;
  #rowsInSheet = 0;
  #rows = 0;
  #flushing: Promise<void> = Promise.resolve();
  #render: ((row: RowValues, rowNumber: number) => string) | undefined;
  #failure: Error | undefined;

  constructor(options: XlsxWriterOptions) {
    this.#columns = options.columns;
    this.#rowLimit = options.rowLimit ?? XLSX_MAX_DATA_ROWS;
    if (!(Number.isInteger(this.#rowLimit) && this.#rowLimit >= 1 && this.#rowLimit <= XLSX_MAX_DATA_ROWS)) {
      throw new RangeError(`rowLimit must be an integer from 1 to ${XLSX_MAX_DATA_ROWS}, got ${this.#rowLimit}`);
    }
    this.#expectedRows = options.expectedRows;
    this.#sheetNames = plannedSheetNames(options.sheetName, options.expectedRows, this.#rowLimit);
    this.#archive = new ZipArchive({ zlib: { level: options.compressionLevel ?? 1, chunkSize: ZLIB_CHUNK_BYTES } });
    this.#done = pipeline(this.#archive, options.out);
    // A failed package (disk full…) must also fail a flush waiting on a sheet stream; finish() reports the error.
    this.#done.catch((error: unknown) => this.abort(error instanceof Error ? error : new Error(String(error))));
    this.#appendFixedParts(options.creator ?? 'crm-data-admin', options.createdAt ?? new Date());
    this.#openSheet();
  }

  get sheetNames(): readonly string[] {
    return this.#sheetNames;
  }

  /** The writer of the sheet that takes the next row (valid after `nextRowNumber()`). */
  get writer(): ByteWriter {
    return this.#current().writer;
  }

  /** Bytes are waiting to be flushed. */
  get needsFlush(): boolean {
    return this.#sheets.length > 1 || this.#current().writer.hasFull;
  }

  /** Claims the next row: its number in the sheet that `writer` now points at. */
  nextRowNumber(): number {
    if (this.#rows === this.#expectedRows) {
      throw new Error(`more rows than the ${this.#expectedRows} counted for the workbook`);
    }
    if (this.#rowsInSheet === this.#rowLimit) this.#nextSheet();
    this.#rows += 1;
    this.#rowsInSheet += 1;
    return this.#rowsInSheet + 1; // row 1 is the header
  }

  /** Writes one row from values (the string path: tests, small exports). */
  writeRow(row: RowValues): void {
    const rowNumber = this.nextRowNumber();
    this.#render ??= createSheetRowRenderer(this.#columns);
    this.writer.writeString(this.#render(row, rowNumber));
  }

  /** Writes rows from values and flushes them (the string path). */
  async writeRows(rows: readonly RowValues[]): Promise<void> {
    for (const row of rows) this.writeRow(row);
    await this.flush();
  }

  /** Hands the written bytes to the archive, waiting while it is behind. Calls are serialized. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushNow());
    return this.#flushing;
  }

  /** Closes the last sheet and the package; resolves once `out` has finished. */
  async finish(): Promise<{ bytes: number; sheets: number }> {
    if (this.#rows !== this.#expectedRows) {
      throw new Error(`expected ${this.#expectedRows} rows for the workbook, got ${this.#rows}`);
    }
    this.#closeSheet(this.#current());
    await this.flush();
    if (this.#failure) throw this.#failure;
    await Promise.all([this.#archive.finalize(), this.#done]);
    return { bytes: this.#archive.pointer(), sheets: this.#sheetCount };
  }

  /** Stops writing; `out` is destroyed with the error, which pending and later calls reject with. */
  abort(error: Error): void {
    this.#failure ??= error;
    // Without an error: a sheet the archive has not reached yet has no 'error' listener. A flush waiting on one
    // still rejects (the stream closes), with #failure.
    for (const sheet of this.#sheets) sheet.stream.destroy();
    this.#archive.destroy(error);
  }

  #appendFixedParts(creator: string, createdAt: Date): void {
    const count = this.#sheetNames.length;
    this.#archive.append(contentTypesXml(count), { name: '[Content_Types].xml' });
    this.#archive.append(rootRelsXml(), { name: '_rels/.rels' });
    this.#archive.append(coreXml(creator, createdAt), { name: 'docProps/core.xml' });
    this.#archive.append(workbookXml(this.#sheetNames), { name: 'xl/workbook.xml' });
    this.#archive.append(workbookRelsXml(count), { name: 'xl/_rels/workbook.xml.rels' });
    this.#archive.append(stylesXml(), { name: 'xl/styles.xml' });
  }

  #current(): Sheet {
    const sheet = this.#sheets[this.#sheets.length - 1];
    if (!sheet) throw new Error('the workbook is finished');
    return sheet;
  }

  #openSheet(): void {
    if (this.#failure) throw this.#failure; // an aborted archive would never read the new sheet
    this.#sheetCount += 1;
    // The archive reads its entries one at a time: this one waits (backpressure) until the previous has ended.
    const stream = new PassThrough({ writableHighWaterMark: ENTRY_BUFFER_BYTES });
    this.#archive.append(stream, { name: `xl/worksheets/sheet${this.#sheetCount}.xml` });
    const writer = new ByteWriter();
    writer.writeString(sheetHeadXml(this.#columns));
    this.#sheets.push({ stream, writer, closed: false });
    this.#rowsInSheet = 0;
  }

  #nextSheet(): void {
    this.#closeSheet(this.#current());
    this.#openSheet();
  }

  #closeSheet(sheet: Sheet): void {
    sheet.writer.writeString(SHEET_TAIL_XML);
    sheet.closed = true;
  }

  async #flushNow(): Promise<void> {
    try {
      await this.#moveSheets();
    } catch (error) {
      throw this.#failure ?? error;
    }
  }

  async #moveSheets(): Promise<void> {
    if (this.#failure) throw this.#failure;
    while (this.#sheets.length > 0) {
      const sheet = this.#sheets[0] as Sheet;
      await sheet.writer.drainTo(writableSink(sheet.stream), sheet.closed);
      if (!sheet.closed) return;
      sheet.stream.end();
      this.#sheets.shift();
    }
  }
}
