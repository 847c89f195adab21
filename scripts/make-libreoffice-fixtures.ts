import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LIBREOFFICE_CONTACTS } from '../test/support/libreoffice-contacts.ts';
import { CALC_CSV_FILTER, calcConvert, writeServiceCsv, writeServiceXlsx } from './libreoffice.ts';

/*
 * Makes test/fixtures/libreoffice/: the service's contacts.xlsx (archive format 2) and contacts.csv holding
 * LIBREOFFICE_CONTACTS, each opened and saved again by LibreOffice Calc headless, as a person editing a backup in
 * Calc would. The fixtures are committed; the import tests read them, so CI needs no LibreOffice.
 *
 *   node --import tsx scripts/make-libreoffice-fixtures.ts      (needs `soffice`: Debian libreoffice-calc-nogui)
 */

const OUT = path.resolve(import.meta.dirname, '../test/fixtures/libreoffice');

async function main(): Promise<void> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'lo-fixtures-'));
  try {
    const profile = path.join(work, 'profile');
    const original = path.join(work, 'original');
    const resaved = path.join(work, 'resaved');
    await fs.mkdir(original);
    await fs.mkdir(resaved);
    await writeServiceXlsx(path.join(original, 'contacts.xlsx'), LIBREOFFICE_CONTACTS);
    await writeServiceCsv(path.join(original, 'contacts.csv'), LIBREOFFICE_CONTACTS);
    const xlsx = await calcConvert(path.join(original, 'contacts.xlsx'), 'xlsx', resaved, profile);
    const csv = await calcConvert(path.join(original, 'contacts.csv'), CALC_CSV_FILTER, resaved, profile);
    await fs.mkdir(OUT, { recursive: true });
    await fs.copyFile(xlsx, path.join(OUT, 'contacts-calc.xlsx'));
    await fs.copyFile(csv, path.join(OUT, 'contacts-calc.csv'));
    console.log(`wrote ${path.join(OUT, 'contacts-calc.xlsx')} and contacts-calc.csv (re-saved by LibreOffice Calc)`);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

await main();
