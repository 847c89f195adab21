import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { escapeCell } from '../src/export/cell-escape.ts';
import { MODULE_SPECS } from '../src/export/module-columns.ts';
import { LIBREOFFICE_CONTACTS } from '../test/support/libreoffice-contacts.ts';
import { CALC_CSV_FILTER, calcConvert, writeServiceXlsx } from './libreoffice.ts';

/*
 * Proof for API.md §6 "Archive format 2" (not in CI; needs `soffice`, Debian libreoffice-calc-nogui): the
 * service's contacts.xlsx opened in LibreOffice Calc shows every text cell as it is, `+65 9123 4567` and not
 * `'+65 9123 4567`. Calc converts the workbook to CSV (what a cell shows is what Calc writes, with "quote all
 * text cells" on and no `'` added by the CSV filter), and each text cell is compared with the original value.
 *
 *   node --import tsx scripts/prove-libreoffice-format2.ts
 */

interface Shown {
  phone: string | undefined;
  compared: number;
  wrong: string[];
}

/** Writes the workbook (format 2, or format 1's `'` guard as release 0.1 did), lets Calc show it, compares. */
async function shownByCalc(work: string, name: string, format1: boolean): Promise<Shown> {
  const xlsx = path.join(work, `${name}.xlsx`);
  const rows = format1
    ? LIBREOFFICE_CONTACTS.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' ? escapeCell(v) : v])))
    : LIBREOFFICE_CONTACTS;
  await writeServiceXlsx(xlsx, rows);
  const out = path.join(work, 'out');
  await fs.mkdir(out, { recursive: true });
  const csv = await calcConvert(xlsx, CALC_CSV_FILTER, out, path.join(work, 'profile'));
  const [header = [], ...shown] = parse(await fs.readFile(csv, 'utf8'), { bom: true, relax_column_count: true }) as string[][];
  const texts = MODULE_SPECS.CONTACTS.columns.filter((c) => c.type === 'text' && c.header !== 'id' && c.header !== 'ownerEmail');
  const result: Shown = { phone: shown[0]?.[header.indexOf('phone')], compared: 0, wrong: [] };
  LIBREOFFICE_CONTACTS.forEach((original, i) => {
    for (const column of texts) {
      const expected = original[column.header] ?? null;
      if (expected === null) continue;
      const cell = shown[i]?.[header.indexOf(column.header)];
      result.compared += 1;
      if (cell !== expected) result.wrong.push(`row ${i + 2} ${column.header}: Calc shows ${JSON.stringify(cell)}, expected ${JSON.stringify(expected)}`);
    }
  });
  return result;
}

async function main(): Promise<number> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'lo-format2-'));
  try {
    const baseline = await shownByCalc(work, 'format1', true);
    const format2 = await shownByCalc(work, 'format2', false);
    const exact = (s: Shown): string => `${s.compared - s.wrong.length}/${s.compared}`;
    console.log(`LibreOffice Calc shows the phone of row 2 as ${JSON.stringify(format2.phone)} (format 1 baseline: ${JSON.stringify(baseline.phone)})`);
    console.log(`text cells shown exactly as the data: format 2 ${exact(format2)}, format 1 baseline ${exact(baseline)}`);
    for (const line of format2.wrong) console.log(`  ${line}`);
    const met = format2.wrong.length === 0 && format2.phone === '+65 9123 4567';
    console.log(met ? 'met' : 'MISSED');
    return met ? 0 : 1;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
