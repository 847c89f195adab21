import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createCsvRowFormatter, csvHeaderLine, UTF8_BOM } from '../src/export/csv-writer.ts';
import { MODULE_SPECS, type CellValue } from '../src/export/module-columns.ts';
import { XlsxWriter } from '../src/export/xlsx-writer.ts';

/*
 * Shared by the LibreOffice scripts (never run in CI): the service's own contacts files, and LibreOffice Calc run
 * headless to re-save or convert them as a person's Calc would.
 */

const run = promisify(execFile);
const CONTACTS = MODULE_SPECS.CONTACTS;

/** Calc's CSV export as a user gets it from "Save as… Text CSV": comma, `"`, UTF-8, quote all text cells. */
export const CALC_CSV_FILTER = 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,true,true';
/** Calc's CSV import: comma, `"`, UTF-8, from line 1; no "detect special numbers", so ISO text stays text. */
const CALC_CSV_IMPORT = 'CSV:44,34,76,1';

/** contacts.xlsx as the backup writes it (the transcoder writes the same bytes; a property test holds them equal). */
export async function writeServiceXlsx(file: string, rows: Record<string, CellValue>[]): Promise<void> {
  const writer = new XlsxWriter({
    out: createWriteStream(file),
    sheetName: CONTACTS.fileBase,
    columns: CONTACTS.columns,
    expectedRows: rows.length,
    createdAt: new Date(Date.UTC(2026, 0, 1)),
  });
  await writer.writeRows(rows.map((row) => CONTACTS.columns.map((c) => row[c.header] ?? null)));
  await writer.finish();
}

/** contacts.csv as the backup writes it: BOM, header, CRLF, the `'` guard. */
export async function writeServiceCsv(file: string, rows: Record<string, CellValue>[]): Promise<void> {
  const format = createCsvRowFormatter(CONTACTS.columns);
  const body = rows.map((row) => format(CONTACTS.columns.map((c) => row[c.header] ?? null))).join('');
  await fs.writeFile(file, Buffer.concat([UTF8_BOM, Buffer.from(csvHeaderLine(CONTACTS.columns) + body)]));
}

/** Opens `input` in Calc and saves it as `filter` into `outDir`; returns the written file. */
export async function calcConvert(input: string, filter: string, outDir: string, profileDir: string): Promise<string> {
  const args = [
    '--headless',
    `-env:UserInstallation=file://${profileDir}`,
    ...(input.endsWith('.csv') ? [`--infilter=${CALC_CSV_IMPORT}`] : []),
    '--convert-to',
    filter,
    '--outdir',
    outDir,
    input,
  ];
  await run('soffice', args, { timeout: 180_000 });
  const ext = filter.split(':')[0] as string;
  const written = path.join(outDir, `${path.basename(input, path.extname(input))}.${ext}`);
  await fs.access(written); // soffice exits 0 even when it could not convert
  return written;
}
