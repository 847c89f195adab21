import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZipWriter } from '../../src/export/zip-writer.ts';
import { contentTypesXml, rootRelsXml, workbookRelsXml, workbookXml } from '../../src/export/xlsx-xml.ts';
import { RejectedCell, type CellValue, type TableRow } from '../../src/import/table.types.ts';
import { readXlsxTables } from '../../src/import/xlsx-reader.ts';

/*
 * Cells as spreadsheet applications write them (API.md §6): formula cells are read as their saved result, never
 * evaluated; dates are serial numbers in a date style (built-in ids 14-22, or a custom date format).
 */

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'import-cell-value-test-'));
});
afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

const MAIN_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
// cellXfs: 0 General, 1..9 built-in date formats 14..22, 10 a custom date format, 11 a custom number format.
const STYLES =
  `<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="${MAIN_NS}">` +
  '<numFmts count="2"><numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss.000"/><numFmt numFmtId="166" formatCode="#,##0.00"/></numFmts>' +
  `<cellXfs count="12"><xf numFmtId="0"/>${[14, 15, 16, 17, 18, 19, 20, 21, 22].map((id) => `<xf numFmtId="${id}"/>`).join('')}` +
  '<xf numFmtId="165"/><xf numFmtId="166"/></cellXfs></styleSheet>';

/** An XLSX with one sheet whose data row holds `cells` (raw `<c>` XML) under a header row. */
async function workbookWith(cells: string[]): Promise<string> {
  const file = path.join(dir, `w${Math.random().toString(36).slice(2)}.xlsx`);
  const out = createWriteStream(file);
  const done = new Promise<void>((resolve, reject) => out.on('finish', () => resolve()).on('error', reject));
  const zip = new ZipWriter(out, { level: 1, date: new Date() });
  const header = cells.map((_c, i) => `<c r="${String.fromCharCode(65 + i)}1" t="inlineStr"><is><t>c${i}</t></is></c>`).join('');
  const sheet = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="${MAIN_NS}"><sheetData><row r="1">${header}</row><row r="2">${cells.join('')}</row></sheetData></worksheet>`;
  zip.appendBuffer('[Content_Types].xml', Buffer.from(contentTypesXml(1)));
  zip.appendBuffer('_rels/.rels', Buffer.from(rootRelsXml()));
  zip.appendBuffer('xl/workbook.xml', Buffer.from(workbookXml(['contacts'])));
  zip.appendBuffer('xl/_rels/workbook.xml.rels', Buffer.from(workbookRelsXml(1)));
  zip.appendBuffer('xl/styles.xml', Buffer.from(STYLES));
  zip.appendBuffer('xl/worksheets/sheet1.xml', Buffer.from(sheet));
  await zip.finalize();
  await done;
  return file;
}

async function dataRow(cells: string[]): Promise<(CellValue | RejectedCell)[]> {
  const rows: TableRow[] = [];
  for await (const table of readXlsxTables(await workbookWith(cells), 'test.xlsx')) for await (const row of table.rows) rows.push(row);
  expect(rows).toHaveLength(1);
  return rows[0]!.cells;
}

const c = (i: number, attrs: string, inner: string): string => `<c r="${String.fromCharCode(65 + i)}2"${attrs}>${inner}</c>`;

describe('XLSX cell values', () => {
  it('reads a formula cell as its saved result, never evaluating it (Calc writes booleans as FALSE())', async () => {
    const cells = await dataRow([
      c(0, ' t="b"', '<f aca="false">FALSE()</f><v>0</v>'),
      c(1, ' t="b"', '<f aca="false">TRUE()</f><v>1</v>'),
      c(2, '', '<f>1+1</f><v>5</v>'), // a stale result: the saved 5, not the evaluated 2
      c(3, ' t="str"', '<f>"="&amp;"cmd|calc"</f><v>=cmd|calc</v>'), // text that starts a formula stays text
      c(4, ' t="str"', '<f>A1&amp;""</f><v></v>'),
      c(5, ' s="10"', '<f>NOW()</f><v>46053.5</v>'),
    ]);
    expect(cells).toEqual([false, true, 5, '=cmd|calc', '', new Date(Date.UTC(2026, 0, 31, 12))]);
  });

  it('refuses a formula with no saved result, an error result and a boolean that is neither 1 nor 0', async () => {
    const cells = await dataRow([c(0, '', '<f>SUM(B1:B9)</f>'), c(1, ' t="e"', '<f>1/0</f><v>#DIV/0!</v>'), c(2, ' t="b"', '<v>yes</v>')]);
    expect(cells.map((cell) => (cell instanceof RejectedCell ? cell.reason : cell))).toEqual([
      'is a formula with no saved value; formulas are not evaluated',
      'holds the error value #DIV/0!',
      'holds "yes" as a boolean (expected 1 or 0)',
    ]);
  });

  it('reads booleans written as 1/0 or as words', async () => {
    const cells = await dataRow([c(0, ' t="b"', '<v>1</v>'), c(1, ' t="b"', '<v>0</v>'), c(2, ' t="b"', '<v>TRUE</v>'), c(3, ' t="b"', '<v>false</v>')]);
    expect(cells).toEqual([true, false, true, false]);
  });

  it('reads serial numbers as dates in the built-in date formats 14-22 and a custom date format, as numbers otherwise', async () => {
    const serial = '46053.75'; // 2026-01-31T18:00:00Z
    const at = new Date(Date.UTC(2026, 0, 31, 18));
    const dated = Array.from({ length: 10 }, (_v, i) => c(i, ` s="${i + 1}"`, `<v>${serial}</v>`));
    const cells = await dataRow([...dated, c(10, ' s="11"', `<v>${serial}</v>`), c(11, '', `<v>${serial}</v>`)]);
    expect(cells).toEqual([...Array.from({ length: 10 }, () => at), 46053.75, 46053.75]);
  });
});
