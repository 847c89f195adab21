/**
 * What every streaming reader (CSV, XLSX) hands to the importer: a header, then rows of raw cells. Readers do
 * no domain work; turning cells into record fields is the restore module's job (it knows the columns).
 */

/** A cell as the file holds it: CSV gives text or null; XLSX may also give numbers, booleans and dates. */
export type CellValue = string | number | boolean | Date | null;

/** A cell the importer must refuse (a formula, an error value), carried so the row can be reported. */
export class RejectedCell {
  readonly reason: string;
  // No parameter properties here and below: the import's worker thread loads these sources by type stripping.
  constructor(reason: string) {
    this.reason = reason;
  }
}

export interface TableRow {
  /** 1-based, the header being row 1 (as a spreadsheet shows it). For CSV: the record number. */
  row: number;
  cells: (CellValue | RejectedCell)[];
  /** XLSX leaves empty cells out, so a short row is complete; a short CSV row is a damaged line. */
  sparse?: boolean;
}

export interface TableReader {
  /** Where the rows come from, for error reports: `contacts.csv`, `contacts.xlsx [contacts (2)]`. */
  file: string;
  header: string[];
  rows: AsyncIterable<TableRow>;
  /** Stops reading (releases the source) when the rows are not wanted, or not all of them. */
  close(): void;
}

/** A file the importer cannot read at all (not a row problem): refused with a message naming the file. */
export class UnreadableFileError extends Error {
  readonly file: string;
  readonly reason: string;
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'UnreadableFileError';
    this.file = file;
    this.reason = reason;
  }
}
