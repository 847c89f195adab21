import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnSpec, RowValues } from '../../src/export/module-columns.ts';
import { plannedSheetNames, XlsxWriter } from '../../src/export/xlsx-writer.ts';
import {
  columnLetters,
  createSheetRowRenderer,
  decodeXlsxText,
  encodeXlsxText,
  QUOTE_PREFIX_STYLE,
  stylesXml,
} from '../../src/export/xlsx-xml.ts';

const COLUMNS: ColumnSpec[] = [
  { header: 'name', type: 'text', sql: 't.name' },
  { header: 'at', type: 'date', sql: 't.at' },
  { header: 'amount', type: 'number', sql: 't.amount' },
  { header: 'flag', type: 'boolean', sql: 't.flag' },
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'xlsx-writer-test-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function writeWorkbook(name: string, rows: RowValues[], rowLimit?: number): Promise<ExcelJS.Workbook> {
  const file = path.join(dir, `${name}.xlsx`);
  const writer = new XlsxWriter({ out: createWriteStream(file), sheetName: name, columns: COLUMNS, expectedRows: rows.length, rowLimit });
  await writer.writeRows(rows);
  await writer.finish();
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.readFile(file);
  return workbook;
}

/** A cell as exceljs reads it, turned back into our value (text: `_xHHHH_` decoded; format 2 has no `'` guard). */
function valueOf(cell: ExcelJS.Cell, column: ColumnSpec): unknown {
  const v = cell.value;
  if (v === null || v === undefined) return null;
  if (column.type === 'text') return decodeXlsxText(String(v));
  if (column.type === 'date') return (v as Date).getTime();
  return v;
}

function readRows(sheet: ExcelJS.Worksheet): unknown[][] {
  const rows: unknown[][] = [];
  sheet.eachRow({ includeEmpty: true }, (row, n) => {
    if (n > 1) rows.push(COLUMNS.map((c, i) => valueOf(row.getCell(i + 1), c)));
  });
  return rows;
}

describe('XlsxWriter', () => {
  it('writes typed cells that exceljs reads back exactly, and no formulas', async () => {
    const rows: RowValues[] = [
      ['=SUM(A1:A9)', Date.UTC(2024, 1, 29, 23, 59, 59, 999), 1.7976931348623157e308, true],
      ['line\r\nbreak & <tag> "q"', Date.UTC(1970, 0, 1), 1e-7, false],
      ['\u0001ctl _x0041_ \uFFFE', Date.UTC(2099, 11, 31, 0, 0, 0, 1), 0, null],
      ['', null, 123456789.123, null],
      [null, null, null, null],
      [' padded ', Date.UTC(1900, 0, 1), -0.5, true],
      ["'quoted", null, null, null],
      ['+65 9123 4567', null, null, null],
      ['-1', null, null, null],
      ['@home', null, null, null],
    ];
    const workbook = await writeWorkbook('typed', rows);
    const sheet = workbook.getWorksheet('typed');
    if (!sheet) throw new Error('no sheet');
    expect(sheet.getRow(1).values).toEqual([undefined, 'name', 'at', 'amount', 'flag']);
    // exceljs drops the empty string of row 4 (an empty inline string reads as no value)
    expect(readRows(sheet)).toEqual(rows.map((r, i) => (i === 3 ? [null, ...r.slice(1)] : r)));
    sheet.eachRow((row) => row.eachCell((cell) => expect(cell.type).not.toBe(ExcelJS.ValueType.Formula)));
    // Format 2 (API.md §6): text that starts a formula is written as it is, with the quotePrefix style.
    expect(sheet.getCell('A2').value).toBe('=SUM(A1:A9)');
    expect(sheet.getCell('A8').value).toBe("'quoted");
  });

  it('marks text that starts a formula with the quotePrefix style (format 2), and only that text', () => {
    const render = createSheetRowRenderer(COLUMNS);
    const cell = (text: string): string => render([text, null, null, null], 2).slice('<row r="2">'.length, -'</row>'.length);
    for (const text of ['=1+1', '+65 9123 4567', '-x', '@home']) {
      expect(cell(text)).toBe(`<c r="A2" s="${QUOTE_PREFIX_STYLE}" t="inlineStr"><is><t>${encodeXlsxText(text)}</t></is></c>`);
    }
    for (const text of ["'quoted", 'plain', '\ttab', '65']) expect(cell(text)).not.toContain(' s="');
    expect(stylesXml()).toMatch(new RegExp(`<cellXfs count="4">(<xf [^>]*/>){${QUOTE_PREFIX_STYLE}}<xf [^>]*quotePrefix="1"/></cellXfs>`));
  });

  it('continues on "name (2)", "name (3)" when a sheet is full, each with its header', async () => {
    const rows: RowValues[] = Array.from({ length: 7 }, (_v, i) => [`r${i}`, null, i, null]);
    const workbook = await writeWorkbook('contacts', rows, 3);
    expect(workbook.worksheets.map((s) => s.name)).toEqual(['contacts', 'contacts (2)', 'contacts (3)']);
    const all = workbook.worksheets.flatMap((sheet) => {
      expect(sheet.getCell('A1').value).toBe('name');
      return readRows(sheet);
    });
    expect(all).toEqual(rows);
  });

  it('writes one sheet with the header for no rows', async () => {
    const workbook = await writeWorkbook('empty', []);
    expect(workbook.worksheets.map((s) => s.name)).toEqual(['empty']);
    expect(workbook.worksheets[0]?.rowCount).toBe(1);
  });

  it('refuses more (or fewer) rows than planned', async () => {
    const writer = new XlsxWriter({ out: createWriteStream(path.join(dir, 'x.xlsx')), sheetName: 'x', columns: COLUMNS, expectedRows: 1 });
    writer.writeRow(['a', null, null, null]);
    expect(() => writer.writeRow(['b', null, null, null])).toThrow(/more rows than the 1 counted/);
    const short = new XlsxWriter({ out: createWriteStream(path.join(dir, 'y.xlsx')), sheetName: 'y', columns: COLUMNS, expectedRows: 2 });
    await expect(short.finish()).rejects.toThrow(/expected 2 rows/);
    writer.abort(new Error('test over'));
    short.abort(new Error('test over'));
  });

  it('plans sheet names', () => {
    expect(plannedSheetNames('leads', 0)).toEqual(['leads']);
    expect(plannedSheetNames('leads', 1_048_575)).toEqual(['leads']);
    expect(plannedSheetNames('leads', 1_048_576)).toEqual(['leads', 'leads (2)']);
    expect(plannedSheetNames('leads', 11, 5)).toEqual(['leads', 'leads (2)', 'leads (3)']);
  });
});

describe('XLSX text', () => {
  /** What an XML parser gives for our element content. */
  const xmlParse = (text: string): string =>
    text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&#13;', '\r').replaceAll('&amp;', '&');

  it('survives encoding, XML parsing and decoding', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary' }).filter((s) => Buffer.from(s).toString() === s),
      fc.array(fc.constantFrom('_x0041_', '_x', '_', '&', '<', '\r', '\u0001', '\uFFFF', 'a'), { maxLength: 6 }).map((a) => a.join('')),
    );
    fc.assert(fc.property(text, (s) => decodeXlsxText(xmlParse(encodeXlsxText(s))) === s), { numRuns: 5_000 });
  });

  it('names columns like Excel', () => {
    expect([0, 25, 26, 27, 701, 702].map(columnLetters)).toEqual(['A', 'Z', 'AA', 'AB', 'ZZ', 'AAA']);
  });
});
