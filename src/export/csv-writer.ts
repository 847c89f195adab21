import { escapeCell } from './cell-escape.ts';
import { formatIsoUtc, formatNumber } from './cell-format.ts';
import { ByteWriter } from './byte-writer.ts';
import type { ByteSink } from './chunk-writer.ts';
import type { CellValue, ColumnSpec, ColumnType, RowValues } from './module-columns.ts';

/*
 * CSV of the backup archive: UTF-8 with BOM, RFC 4180 quoting, CRLF after every record (the last one too),
 * dates ISO 8601 UTC with milliseconds, booleans `true`/`false`, numbers in shortest round-trip form, text with the
 * spreadsheet-injection `'` rule.
 *
 * Null versus empty string: "empty cell = null" (API.md §5) would make an empty string and null the same. We keep
 * them apart the way PostgreSQL's own CSV does: null is an empty, unquoted field (`a,,b`); an empty string is an
 * empty quoted field (`a,"",b`). A reader that maps `""` to '' and nothing to null restores both exactly; a reader
 * that does not care sees two empty cells, as before. (Python's csv module and Excel read both as empty.)
 *
 * The functions here are the readable definition of the format, used for headers and small outputs; the backup
 * itself goes through row-transcoder.ts, which writes the same bytes without building strings.
 */

export const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
export const CSV_RECORD_END = '\r\n';

const NEEDS_QUOTES = /[",\r\n]/;

export function csvText(value: string): string {
  if (value.length === 0) return '""';
  const text = escapeCell(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One field as it appears in the file (without separators). */
export function csvField(type: ColumnType, value: CellValue): string {
  if (value === null) return '';
  switch (type) {
    case 'text':
      return csvText(typeof value === 'string' ? value : String(value));
    case 'date':
      return formatIsoUtc(Number(value));
    case 'number':
      return formatNumber(Number(value));
    case 'boolean':
      return value === true ? 'true' : 'false';
  }
}

export type CsvRowFormatter = (row: RowValues) => string;

/** Formats a whole record, CRLF included. */
export function createCsvRowFormatter(columns: readonly ColumnSpec[]): CsvRowFormatter {
  const types = columns.map((c) => c.type);
  const count = types.length;
  return (row) => {
    let line = row[0] === null || row[0] === undefined ? '' : csvField(types[0] ?? 'text', row[0]);
    for (let i = 1; i < count; i++) {
      const value = row[i];
      line += value === null || value === undefined ? ',' : `,${csvField(types[i] ?? 'text', value)}`;
    }
    return line + CSV_RECORD_END;
  };
}

export function csvHeaderLine(columns: readonly ColumnSpec[]): string {
  return columns.map((c) => csvText(c.header)).join(',') + CSV_RECORD_END;
}

/**
 * One CSV file being written: BOM and header at once, then records into `writer`, either by the byte-level
 * RowTranscoder (the backup's hot path) or from values (`writeRow`, `writeRows`). With a sink, `writeRows` and
 * `end` hand the chunks on; without one, the owner takes them from `writer`.
 */
export class CsvWriter {
  readonly writer: ByteWriter;
  readonly #columns: readonly ColumnSpec[];
  readonly #sink: ByteSink | undefined;
  #format: CsvRowFormatter | undefined;

  constructor(columns: readonly ColumnSpec[], sink?: ByteSink, chunkBytes?: number) {
    this.#columns = columns;
    this.#sink = sink;
    this.writer = new ByteWriter(chunkBytes);
    this.writer.writeBytes(UTF8_BOM);
    this.writer.writeString(csvHeaderLine(columns));
  }

  get bytes(): number {
    return this.writer.bytes;
  }

  writeRow(row: RowValues): void {
    this.#format ??= createCsvRowFormatter(this.#columns);
    this.writer.writeString(this.#format(row));
  }

  /** Writes the rows, then waits until the sink has taken every full chunk. */
  async writeRows(rows: readonly RowValues[]): Promise<void> {
    for (const row of rows) this.writeRow(row);
    if (this.#sink) await this.writer.drainTo(this.#sink);
  }

  /** Hands everything left to the sink. */
  async end(): Promise<void> {
    if (this.#sink) await this.writer.drainTo(this.#sink, true);
  }
}
