import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatExcelSerial } from '../../src/export/cell-format.ts';
import type { CellValue as ExportCell, ColumnSpec, ColumnType } from '../../src/export/module-columns.ts';
import { XlsxWriter } from '../../src/export/xlsx-writer.ts';
import { RejectedCell, type CellValue, type TableRow } from '../../src/import/table.types.ts';
import { isDateFormatCode } from '../../src/import/xlsx-workbook.ts';
import { columnIndex, readXlsxTables, serialToEpochMs } from '../../src/import/xlsx-reader.ts';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'import-xlsx-test-'));
});
afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

let fileNo = 0;
const columnsOf = (types: ColumnType[]): ColumnSpec[] => types.map((type, i) => ({ header: `c${i}`, type, sql: `c${i}` }));

/** Writes rows with the archive's own XLSX writer (src/export). */
async function writeXlsx(columns: ColumnSpec[], rows: ExportCell[][], rowLimit?: number): Promise<string> {
  const file = path.join(dir, `w${++fileNo}.xlsx`);
  const writer = new XlsxWriter({ out: createWriteStream(file), sheetName: 'contacts', columns, expectedRows: rows.length, rowLimit });
  await writer.writeRows(rows);
  await writer.finish();
  return file;
}

async function readTables(file: string): Promise<{ file: string; header: string[]; rows: TableRow[] }[]> {
  const tables = [];
  for await (const table of readXlsxTables(file, 'test.xlsx')) {
    const rows: TableRow[] = [];
    for await (const row of table.rows) rows.push(row);
    tables.push({ file: table.file, header: table.header, rows });
  }
  return tables;
}

/** What the importer sees of a written cell: text verbatim (format 2 has no `'` guard), dates back to epoch ms. */
function normalise(cell: CellValue | RejectedCell | undefined): unknown {
  if (cell === undefined) return null;
  if (cell instanceof Date) return cell.getTime();
  return cell;
}

describe('XLSX reader', () => {
  it('reads header, text, numbers, booleans and date cells of our writer, with spreadsheet row numbers', async () => {
    const columns = columnsOf(['text', 'number', 'boolean', 'date']);
    const file = await writeXlsx(columns, [
      ['Ann', 12.5, true, Date.UTC(2026, 0, 31, 9, 30, 0, 123)],
      [null, null, null, null],
      ['=SUM(A1)', -0, false, Date.UTC(1899, 11, 31)],
    ]);
    const [table, ...others] = await readTables(file);
    expect(others).toEqual([]);
    expect(table!.file).toBe('test.xlsx [contacts]');
    expect(table!.header).toEqual(['c0', 'c1', 'c2', 'c3']);
    // A row whose cells are all null has no cells in the file at all: it is not a row.
    expect(table!.rows.map((r) => r.row)).toEqual([2, 4]);
    expect(table!.rows.map((r) => r.cells.map(normalise))).toEqual([
      ['Ann', 12.5, true, Date.UTC(2026, 0, 31, 9, 30, 0, 123)],
      ['=SUM(A1)', -0, false, Date.UTC(1899, 11, 31)],
    ]);
  });

  it('decodes entities once and _xHHHH_ escapes (so "&amp;", "_x0041_", CR and control characters survive)', async () => {
    const texts = ['AT&amp;T <b>', '_x0041_ stays', 'a\r\nb\rc\nd', 'bell\u0007 and \uFFFE', '  padded  ', ''];
    const file = await writeXlsx(columnsOf(['text']), texts.map((t) => [t]));
    const [table] = await readTables(file);
    expect(table!.rows.map((r) => normalise(r.cells[0]))).toEqual(texts);
  });

  it('continues on overflow sheets (contacts (2), …), each with its header', async () => {
    const file = await writeXlsx(columnsOf(['text']), [['a'], ['b'], ['c'], ['d'], ['e']], 2);
    const tables = await readTables(file);
    expect(tables.map((t) => t.file)).toEqual(['test.xlsx [contacts]', 'test.xlsx [contacts (2)]', 'test.xlsx [contacts (3)]']);
    expect(tables.map((t) => t.header)).toEqual([['c0'], ['c0'], ['c0']]);
    expect(tables.map((t) => t.rows.map((r) => [r.row, r.cells[0]]))).toEqual([
      [[2, 'a'], [3, 'b']],
      [[2, 'c'], [3, 'd']],
      [[2, 'e']],
    ]);
  });

  it('reads a workbook saved by another program: shared strings, rich text, the 1904 date system, formula results; refuses errors', async () => {
    const workbook = new ExcelJS.Workbook();
    workbook.properties.date1904 = true;
    const sheet = workbook.addWorksheet('people');
    sheet.addRow(['name', 'born', 'score']);
    sheet.addRow([{ richText: [{ text: 'Zoë ' }, { text: 'Tan', font: { bold: true } }] }, new Date(Date.UTC(1990, 4, 17, 8, 0, 0)), 3]);
    sheet.addRow(['Lee', { formula: 'TODAY()', result: 45000 }, { error: '#N/A' }]);
    sheet.getColumn(2).numFmt = 'dd/mm/yyyy hh:mm';
    const file = path.join(dir, 'exceljs.xlsx');
    await workbook.xlsx.writeFile(file);
    const [table] = await readTables(file);
    expect(table!.header).toEqual(['name', 'born', 'score']);
    expect(table!.rows[0]!.cells.map(normalise)).toEqual(['Zoë Tan', Date.UTC(1990, 4, 17, 8, 0, 0), 3]);
    const [name, born, score] = table!.rows[1]!.cells;
    expect(name).toBe('Lee');
    // The formula's saved result (serial 45000 in the 1904 system), never an evaluation of TODAY().
    expect(born).toEqual(new Date(serialToEpochMs('45000', true)));
    expect((score as RejectedCell).reason).toMatch(/error value #N\/A/);
  });

  it('refuses a file that is not a workbook', async () => {
    const file = path.join(dir, 'not.xlsx');
    await fs.writeFile(file, 'hello');
    await expect(readTables(file)).rejects.toThrow(/test\.xlsx: is not a readable ZIP file/);
  });

  it('round-trips any row our writer writes (property)', async () => {
    const columns = columnsOf(['text', 'number', 'boolean', 'date']);
    const text = fc.option(fc.string({ unit: 'binary', maxLength: 10 }), { nil: null });
    const number = fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: null });
    const instant = fc.option(fc.integer({ min: -62_135_596_800_000 * 2, max: 8_000_000_000_000_000 }), { nil: null });
    const row = fc.tuple(text, number, fc.option(fc.boolean(), { nil: null }), instant);
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 6 }), async (rows) => {
        const [table] = await readTables(await writeXlsx(columns, rows));
        const read = new Map((table?.rows ?? []).map((r) => [r.row, [0, 1, 2, 3].map((i) => normalise(r.cells[i]))]));
        rows.forEach((written, i) => {
          const empty = written.every((c) => c === null);
          expect(read.get(i + 2) ?? null).toEqual(empty ? null : written);
        });
      }),
      { numRuns: 40 },
    );
  });
});

describe('XLSX cell helpers', () => {
  it('converts our Excel serials back to the exact millisecond over the whole PostgreSQL range and beyond', () => {
    fc.assert(
      fc.property(fc.integer({ min: -210_000_000_000_000, max: 8_000_000_000_000_000 }), (ms) => {
        expect(serialToEpochMs(formatExcelSerial(ms), false)).toBe(ms);
      }),
      { numRuns: 2000 },
    );
    expect(serialToEpochMs('25569', false)).toBe(0);
    expect(serialToEpochMs('24107', true)).toBe(0);
    expect(serialToEpochMs('25569.5', false)).toBe(43_200_000);
  });

  it('tells date formats from number formats', () => {
    for (const code of ['yyyy-mm-dd hh:mm:ss.000', 'dd/mm/yyyy', '[h]:mm', 'mmm d, yy', '[$-409]d-mmm-yy']) expect(isDateFormatCode(code)).toBe(true);
    for (const code of ['General', '0.00', '#,##0', '"Day" 0', '[Red]0.00', '0.0\\d']) expect(isDateFormatCode(code)).toBe(false);
  });

  it('reads column letters of a cell reference', () => {
    expect(['A1', 'Z9', 'AA1', 'BC12', 'XFD1048576'].map(columnIndex)).toEqual([0, 25, 26, 54, 16383]);
  });
});
