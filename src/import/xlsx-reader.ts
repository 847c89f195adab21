import type { Readable } from 'node:stream';
import { decodeXlsxText } from '../export/xlsx-xml.ts';
import { xlsxCellValue } from './cell-value.ts';
import { checkCellReference, checkColumnCount, checkRowNumber, checkTextLength, DEFAULT_IMPORT_LIMITS, xmlTokenGuard, type ImportLimits } from './import-limits.ts';
import { RejectedCell, UnreadableFileError, type CellValue, type TableReader, type TableRow } from './table.types.ts';
import { readWorkbook, type XlsxWorkbook } from './xlsx-workbook.ts';
import { streamXml, type XmlHandlers } from './xml-stream.ts';
import { openZip } from './zip-file.ts';

export { serialToEpochMs } from './cell-value.ts';

/**
 * Streams the worksheets of an XLSX file on disk, in workbook order, each as a header row and data rows.
 *
 * Why not exceljs's WorkbookReader: it reads the package as a forward-only stream, so when worksheets come
 * before the shared strings and relationships (exactly how exceljs's own streaming writer lays files out) it
 * spools every sheet to a temporary file first; and it XML-decodes `t="str"` cell text a second time, so a cell
 * holding the text `&amp;` comes back as `&`. Here yauzl opens the package at random, the small parts
 * (workbook, relationships, styles, shared strings) are read first, then each sheet is parsed with saxes (the
 * XML parser exceljs itself uses) straight from its ZIP entry.
 */
export async function* readXlsxTables(filePath: string, file: string, limits: ImportLimits = DEFAULT_IMPORT_LIMITS): AsyncGenerator<TableReader> {
  const zip = await openZip(filePath, file, limits);
  try {
    const workbook = await readWorkbook(zip, file, limits);
    if (workbook.sheets.length === 0) throw new UnreadableFileError(file, 'has no worksheet');
    for (const sheet of workbook.sheets) {
      const label = `${file} [${sheet.name}]`;
      const input = await zip.open(sheet.entry);
      const rows = sheetRows(input, workbook, new SheetLimits(limits, label))[Symbol.asyncIterator]();
      const first = await rows.next();
      if (first.done) continue; // an empty sheet holds nothing to import
      const header = first.value.cells.map((c) => (typeof c === 'string' ? c : c === null ? '' : String(c)));
      yield { file: label, header, rows: rest(rows), close: () => void input.destroy() };
      input.destroy(); // the consumer may have stopped early; the next sheet needs nothing of this one
    }
  } finally {
    zip.close();
  }
}

async function* rest(rows: AsyncIterator<TableRow>): AsyncGenerator<TableRow> {
  for (let r = await rows.next(); !r.done; r = await rows.next()) yield r.value;
}

/** The rows of one worksheet's XML (`<sheetData><row r><c r t s><v>|<is><t>|<f>`), rows with no cells skipped. */
export function sheetRows(input: Readable, workbook: XlsxWorkbook, limits = new SheetLimits(DEFAULT_IMPORT_LIMITS, 'sheet')): AsyncGenerator<TableRow> {
  return streamXml<TableRow>(input, (emit) => new SheetHandlers(workbook, emit, limits), xmlTokenGuard(limits.limits, limits.file));
}

/**
 * The caps a worksheet is held to (import-limits.ts), apart from the reading itself: a row number and a cell
 * reference inside the sheet grid and the column limit (a cell at column 83,644,886 would otherwise size a row
 * array to match), and a cell's text within IMPORT_MAX_RECORD_BYTES.
 */
export class SheetLimits {
  readonly limits: ImportLimits;
  readonly file: string;
  constructor(limits: ImportLimits, file: string) {
    this.limits = limits;
    this.file = file;
  }

  row(row: number): void {
    checkRowNumber(row, this.file);
  }

  cellAt(ref: string | undefined, col: number, row: number): void {
    if (ref === undefined) checkColumnCount(col + 1, this.limits, this.file, row);
    else checkCellReference(ref, col, rowOfReference(ref) ?? row, this.limits, this.file);
  }

  text(length: number): void {
    checkTextLength(length, this.limits, this.file);
  }
}

/** `B7` → 7; undefined when the reference has no row part. */
function rowOfReference(ref: string): number | undefined {
  const digits = /\d+$/.exec(ref)?.[0];
  return digits === undefined ? undefined : Number(digits);
}

interface CellState {
  col: number;
  type: string;
  style: number;
  formula: boolean;
  hasValue: boolean;
  text: string;
}

class SheetHandlers implements XmlHandlers {
  private row = 0;
  private cells: (CellValue | RejectedCell)[] | undefined;
  private cell: CellState | undefined;
  private nextCol = 0;
  private capture = false;
  private inPhonetic = false;
  private readonly workbook: XlsxWorkbook;
  private readonly emit: (row: TableRow) => void;
  private readonly limits: SheetLimits;

  // No parameter properties: the import's worker thread loads this file by type stripping.
  constructor(workbook: XlsxWorkbook, emit: (row: TableRow) => void, limits: SheetLimits) {
    this.workbook = workbook;
    this.emit = emit;
    this.limits = limits;
  }

  open(name: string, a: Record<string, string>): void {
    switch (name) {
      case 'row':
        this.row = a.r ? Number(a.r) : this.row + 1;
        this.limits.row(this.row);
        this.cells = [];
        this.nextCol = 0;
        return;
      case 'c':
        this.limits.cellAt(a.r, a.r ? columnIndex(a.r) : this.nextCol, this.row);
        this.cell = {
          col: a.r ? columnIndex(a.r) : this.nextCol,
          type: a.t ?? 'n',
          style: a.s ? Number(a.s) : 0,
          formula: false,
          hasValue: false,
          text: '',
        };
        return;
      case 'f':
        if (this.cell) this.cell.formula = true;
        return;
      case 'v':
      case 't':
        if (this.cell && !this.inPhonetic) {
          this.capture = true;
          this.cell.hasValue = true;
        }
        return;
      case 'rPh':
        this.inPhonetic = true;
        return;
    }
  }

  text(text: string): void {
    if (this.capture && this.cell) {
      this.cell.text += text;
      this.limits.text(this.cell.text.length);
    }
  }

  close(name: string): void {
    switch (name) {
      case 'v':
      case 't':
        this.capture = false;
        return;
      case 'rPh':
        this.inPhonetic = false;
        return;
      case 'c':
        if (this.cell && this.cells) {
          this.cells[this.cell.col] = xlsxCellValue(this.cell, this.workbook);
          this.nextCol = this.cell.col + 1;
        }
        this.cell = undefined;
        return;
      case 'row':
        if (this.cells && this.cells.length > 0) this.emit({ row: this.row, cells: Array.from(this.cells, (c) => c ?? null), sparse: true });
        this.cells = undefined;
        return;
    }
  }
}

/** `BC12` → 54 (zero-based column of a cell reference). */
export function columnIndex(ref: string): number {
  let col = 0;
  for (let i = 0; i < ref.length; i++) {
    const code = ref.charCodeAt(i);
    if (code < 65 || code > 90) break;
    col = col * 26 + (code - 64);
  }
  return col - 1;
}
