import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeCell } from '../../src/export/cell-escape.ts';
import { MODULE_SPECS, type CellValue } from '../../src/export/module-columns.ts';
import { XlsxWriter } from '../../src/export/xlsx-writer.ts';
import { ZipWriter } from '../../src/export/zip-writer.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { LIBREOFFICE_CONTACTS } from '../support/libreoffice-contacts.ts';
import { archiveOf, csvOf, importFile, moduleRows, wipe, zipEntry } from '../support/restore-helpers.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

/*
 * API.md §6 "Archive format 2", the import side: files a person edited in a spreadsheet and saved again
 * (test/fixtures/libreoffice/, made by scripts/make-libreoffice-fixtures.ts with LibreOffice Calc), archives of
 * format 1 and 2, and files without a column added later.
 */

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/libreoffice');
const CONTACTS = MODULE_SPECS.CONTACTS;

/** The rows as moduleRows reads them back: every column, absent ones null, no owner, state ACTIVE. */
const expectedContacts = (): Record<string, unknown>[] =>
  LIBREOFFICE_CONTACTS.map((row): Record<string, unknown> => ({
    ...Object.fromEntries(CONTACTS.columns.filter((c) => c.header !== 'retentionEndsAt' && c.header !== 'deletesAt').map((c) => [c.header, row[c.header] ?? null])),
    retentionState: 'ACTIVE',
  })).sort((x, y) => String(x.id).localeCompare(String(y.id)));

async function zipOf(entries: Record<string, Buffer>): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const zip = new ZipWriter(out, { level: 1, date: new Date() });
  for (const [name, data] of Object.entries(entries)) zip.appendBuffer(name, data);
  await zip.finalize();
  return Buffer.concat(chunks);
}

/** contacts.xlsx as release 0.1 wrote it (format 1): text cells carry §5's `'` guard. */
async function format1Xlsx(dir: string, rows: Record<string, CellValue>[]): Promise<Buffer> {
  const file = path.join(dir, `f1-${randomUUID()}.xlsx`);
  const columns = CONTACTS.columns;
  const writer = new XlsxWriter({ out: createWriteStream(file), sheetName: 'contacts', columns, expectedRows: rows.length });
  await writer.writeRows(
    rows.map((row) => columns.map((c) => {
      const value = row[c.header] ?? null;
      return c.type === 'text' && typeof value === 'string' ? escapeCell(value) : value;
    })),
  );
  await writer.finish();
  return fs.readFile(file);
}

describe('import of spreadsheet-edited files and archive formats 1 and 2', () => {
  let t: TestApp & { db: { url: string } };
  let a: TestOrg;
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-format2-test-'));
    t = await startTestApp({ env: { STORAGE_DIR: dir } });
    a = await createOrg(t.app);
  });
  afterAll(async () => {
    await t.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  const pool = () => t.app.services.pool;

  it('the fixture really is Calc output: booleans as FALSE() formulas, text in shared strings, dates as serials', async () => {
    const sheet = (await zipEntry(await fs.readFile(path.join(FIXTURES, 'contacts-calc.xlsx')), 'xl/worksheets/sheet1.xml')).toString('utf8');
    expect(sheet).toMatch(/<c r="P2" s="\d+" t="b"><f aca="false">FALSE\(\)<\/f><v>0<\/v><\/c>/);
    expect(sheet).toMatch(/<c r="E2" s="\d+" t="s">/);
    expect(sheet).toMatch(/<c r="K2" s="\d+" t="n"><v>46053\.\d+<\/v>/);
    const csv = await fs.readFile(path.join(FIXTURES, 'contacts-calc.csv'), 'utf8');
    expect(csv.startsWith('"id","firstName"')).toBe(true); // no BOM, every text quoted
    expect(csv).toContain(',FALSE\n');
  });

  it('imports contacts.xlsx re-saved by LibreOffice Calc: every row created, then updated, values exactly the originals', async () => {
    await wipe(pool(), a.organizationId);
    const file = { data: await fs.readFile(path.join(FIXTURES, 'contacts-calc.xlsx')), name: 'contacts.xlsx' };
    const first = await importFile(t, a.admin.token, { file, module: 'CONTACTS' });
    expect(first).toMatchObject({ status: 'COMPLETED', processedRows: 3, created: 3, updated: 0, failed: 0, errors: [] });
    const rows = await moduleRows(pool(), a.organizationId, 'CONTACTS');
    expect(rows).toEqual(expectedContacts());
    // Format 2 reads XLSX text verbatim: the phone has no `'`, and a `'` that is really in the data stays.
    expect(rows.map((r) => r.phone)).toContain('+65 9123 4567');
    expect(rows.map((r) => r.notes)).toContain("'quoted in the data");
    const second = await importFile(t, a.admin.token, { file, module: 'CONTACTS' });
    expect(second).toMatchObject({ status: 'COMPLETED', processedRows: 3, created: 0, updated: 3, failed: 0, errors: [] });
    expect(await moduleRows(pool(), a.organizationId, 'CONTACTS')).toEqual(expectedContacts());
  });

  it('imports contacts.csv re-saved by LibreOffice Calc (no BOM, quotes everywhere, FALSE): values exactly the originals', async () => {
    await wipe(pool(), a.organizationId);
    const file = { data: await fs.readFile(path.join(FIXTURES, 'contacts-calc.csv')), name: 'contacts.csv' };
    const first = await importFile(t, a.admin.token, { file, module: 'CONTACTS' });
    expect(first).toMatchObject({ status: 'COMPLETED', processedRows: 3, created: 3, updated: 0, failed: 0, errors: [] });
    expect(await moduleRows(pool(), a.organizationId, 'CONTACTS')).toEqual(expectedContacts());
    const second = await importFile(t, a.admin.token, { file, module: 'CONTACTS' });
    expect(second).toMatchObject({ created: 0, updated: 3, failed: 0 });
  });

  it('reads a format 1 archive (manifest formatVersion 1) by §5: one `\'` removed from XLSX text', async () => {
    await wipe(pool(), a.organizationId);
    const zip = await zipOf({
      'manifest.json': Buffer.from(JSON.stringify({ formatVersion: 1 })),
      'contacts.xlsx': await format1Xlsx(dir, LIBREOFFICE_CONTACTS),
    });
    const job = await importFile(t, a.admin.token, { file: { data: zip, name: 'old-backup.zip' } });
    expect(job).toMatchObject({ status: 'COMPLETED', created: 3, failed: 0, errors: [] });
    expect(await moduleRows(pool(), a.organizationId, 'CONTACTS')).toEqual(expectedContacts());
  });

  it('reads the same format 1 workbook inside a format 2 archive verbatim (the `\'` guard is kept as data)', async () => {
    await wipe(pool(), a.organizationId);
    const zip = await zipOf({
      'manifest.json': Buffer.from(JSON.stringify({ formatVersion: 2 })),
      'contacts.xlsx': await format1Xlsx(dir, LIBREOFFICE_CONTACTS.slice(0, 1)),
    });
    const job = await importFile(t, a.admin.token, { file: { data: zip, name: 'b.zip' } });
    expect(job).toMatchObject({ status: 'COMPLETED', created: 1, failed: 0 });
    const [row] = await moduleRows(pool(), a.organizationId, 'CONTACTS');
    expect(row).toMatchObject({ phone: "'+65 9123 4567", notes: `'=HYPERLINK("http://example.com")`, firstName: 'Mei Ling' });
  });

  it('writes format 2 and restores its own archive exactly, through the XLSX and the CSV', async () => {
    await wipe(pool(), a.organizationId);
    await importFile(t, a.admin.token, { file: { data: csvOf('CONTACTS', LIBREOFFICE_CONTACTS), name: 'contacts.csv' }, module: 'CONTACTS' });
    const archive = await archiveOf(t, a.organizationId);
    expect(JSON.parse((await zipEntry(archive, 'manifest.json')).toString('utf8'))).toMatchObject({ formatVersion: 2 });
    const sheet = (await zipEntry(await zipEntry(archive, 'contacts.xlsx'), 'xl/worksheets/sheet1.xml')).toString('utf8');
    expect(sheet).toMatch(/<c r="E\d+" s="3" t="inlineStr"><is><t>\+65 9123 4567<\/t><\/is><\/c>/);
    expect(sheet).not.toContain("'+65");
    const styles = (await zipEntry(await zipEntry(archive, 'contacts.xlsx'), 'xl/styles.xml')).toString('utf8');
    expect(styles).toMatch(/<cellXfs count="4">(<xf [^>]*\/>){3}<xf [^>]*quotePrefix="1"\/><\/cellXfs>/);
    expect((await zipEntry(archive, 'contacts.csv')).toString('utf8')).toContain("'+65 9123 4567");
    for (const name of ['contacts.xlsx', 'contacts.csv']) {
      await wipe(pool(), a.organizationId);
      const job = await importFile(t, a.admin.token, { file: { data: await zipEntry(archive, name), name }, module: 'CONTACTS' });
      expect(job).toMatchObject({ status: 'COMPLETED', created: 3, failed: 0, errors: [] });
      expect(await moduleRows(pool(), a.organizationId, 'CONTACTS')).toEqual(expectedContacts());
    }
  });

  it('a column missing from an older file leaves the field unchanged on an existing record and null on a new one', async () => {
    await wipe(pool(), a.organizationId);
    const kept = { id: randomUUID(), firstName: 'Old', lastName: 'Lead', website: 'https://kept.example.com', createdAt: Date.UTC(2026, 0, 1), updatedAt: Date.UTC(2026, 0, 1) };
    await importFile(t, a.admin.token, { file: { data: csvOf('LEADS', [kept]), name: 'leads.csv' }, module: 'LEADS' });
    const fresh = { id: randomUUID(), firstName: 'New', lastName: 'Lead', createdAt: Date.UTC(2026, 0, 2), updatedAt: Date.UTC(2026, 0, 2) };
    // A 0.1 leads.csv: no website column.
    const csv = csvOf('LEADS', [{ ...kept, firstName: 'Renamed' }, fresh])
      .toString('utf8')
      .split('\r\n')
      .map((line) => line.split(',').filter((_c, i) => i !== MODULE_SPECS.LEADS.columns.findIndex((c) => c.header === 'website')).join(','))
      .join('\r\n');
    const job = await importFile(t, a.admin.token, { file: { data: csv, name: 'leads.csv' }, module: 'LEADS' });
    expect(job).toMatchObject({ status: 'COMPLETED', created: 1, updated: 1, failed: 0, errors: [] });
    const rows = await moduleRows(pool(), a.organizationId, 'LEADS');
    expect(rows.find((r) => r.id === kept.id)).toMatchObject({ firstName: 'Renamed', website: 'https://kept.example.com' });
    expect(rows.find((r) => r.id === fresh.id)).toMatchObject({ firstName: 'New', website: null });
  });
});
