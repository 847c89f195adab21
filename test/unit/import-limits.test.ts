import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCsvTable } from '../../src/import/csv-reader.ts';
import { DEFAULT_IMPORT_LIMITS, excerpt, ImportLimitError, xmlTokenGuard, type ImportLimits } from '../../src/import/import-limits.ts';
import { readXlsxTables } from '../../src/import/xlsx-reader.ts';
import { openZip } from '../../src/import/zip-file.ts';
import { columnName, incompressible, xlsxOf, zipOf } from '../support/hostile-files.ts';

const limits = (over: Partial<ImportLimits>): ImportLimits => ({ ...DEFAULT_IMPORT_LIMITS, ...over });

describe('import limits', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-limits-unit-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });
  const saved = async (name: string, data: Buffer): Promise<string> => {
    const file = path.join(dir, name);
    await fs.writeFile(file, data);
    return file;
  };
  /** Rows read, the header row included. */
  const readAll = async (file: string, l: ImportLimits): Promise<number> => {
    let rows = 0;
    for await (const table of readXlsxTables(file, 'w.xlsx', l)) {
      rows += 1;
      for await (const _row of table.rows) rows += 1;
    }
    return rows;
  };

  it('checks a ZIP directory: entry count, entry size, ratio and total, each naming its variable', async () => {
    const file = await saved('a.zip', await zipOf({ 'a.txt': incompressible(300_000), 'b.txt': incompressible(300_000), 'c.txt': Buffer.alloc(2_000_000) }));
    await expect(openZip(file, 'a.zip', limits({ maxZipEntries: 2 }))).rejects.toThrow('a.zip: holds 3 ZIP entries, more than the limit IMPORT_MAX_ZIP_ENTRIES (2)');
    await expect(openZip(file, 'a.zip', limits({ maxEntryBytes: 1_000_000 }))).rejects.toThrow(/entry c\.txt unpacks to 1\.9 MiB, more than the limit IMPORT_MAX_ENTRY_BYTES/);
    await expect(openZip(file, 'a.zip', limits({ maxCompressionRatio: 50 }))).rejects.toThrow(/entry c\.txt is compressed \d+:1, more than the limit IMPORT_MAX_COMPRESSION_RATIO \(50\)/);
    await expect(openZip(file, 'a.zip', limits({ maxTotalBytes: 2_300_000, maxCompressionRatio: 2000 }))).rejects.toThrow(/unpacks to 2\.\d MiB in all, more than the limit IMPORT_MAX_TOTAL_BYTES/);
    await expect(openZip(file, 'a.zip', limits({ maxZipEntries: 3, maxEntryBytes: 2_000_000, maxCompressionRatio: 2000, maxTotalBytes: 2_600_000 })).then((z) => z.close())).resolves.toBeUndefined();
  });

  it('holds a worksheet to the sheet grid and the column limit, and accepts the last cell of both', async () => {
    const at = async (ref: string, l = DEFAULT_IMPORT_LIMITS) => readAll(await saved(`${ref}.xlsx`, await xlsxOf(`<row r="1"><c r="${ref}"><v>1</v></c></row>`)), l);
    await expect(at('GAAAAA1')).rejects.toThrow(/cell reference GAAAAA1, outside a worksheet/);
    await expect(at('A1048577')).rejects.toThrow(/cell reference A1048577, outside a worksheet/);
    await expect(at('a1')).rejects.toThrow(ImportLimitError);
    await expect(at(`${columnName(512)}1`)).rejects.toThrow(/more than 512 columns, the limit IMPORT_MAX_COLUMNS/);
    expect(await at(`${columnName(511)}1`)).toBe(1);
    expect(await at(`XFD1048576`, limits({ maxColumns: 16_384 }))).toBe(1);
    // Cells without references count too.
    const unreferenced = `<row r="1">${'<c><v>1</v></c>'.repeat(20)}</row>`;
    await expect(readAll(await saved('u.xlsx', await xlsxOf(unreferenced)), limits({ maxColumns: 16 }))).rejects.toThrow(/more than 16 columns/);
  });

  it('refuses a cell, tag or shared-strings part over its cap before buffering it', async () => {
    const long = `<row r="1"><c r="A1" t="inlineStr"><is><t>${'x'.repeat(5000)}</t></is></c></row>`;
    await expect(readAll(await saved('l.xlsx', await xlsxOf(long)), limits({ maxRecordBytes: 4096 }))).rejects.toThrow(/longer than 4096 bytes, the limit IMPORT_MAX_RECORD_BYTES/);
    const strings = await xlsxOf('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', { sharedStrings: `<sst><si><t>${incompressible(5000)}</t></si></sst>` });
    await expect(readAll(await saved('s.xlsx', strings), limits({ maxSharedStringsBytes: 4096 }))).rejects.toThrow(/shared strings, more than the limit IMPORT_MAX_SHARED_STRINGS_BYTES/);
    const guard = xmlTokenGuard(limits({ maxRecordBytes: 10 }), 'f');
    guard('<a>0123456789</a><b c="');
    expect(() => guard('0123456789">')).toThrow(/IMPORT_MAX_RECORD_BYTES/);
  });

  it('caps a CSV record (csv-parse max_record_size) and its width, quoting none of it', async () => {
    const csv = (text: string) => openCsvTable(Readable.from([Buffer.from(text)]), 'c.csv', limits({ maxRecordBytes: 1024, maxColumns: 16 }));
    const readAllCsv = async (text: string) => {
      for await (const _row of (await csv(text)).rows);
    };
    await expect(readAllCsv(`id,name\r\n1,"${'y'.repeat(5000)}"\r\n`)).rejects.toThrow('c.csv: has a record longer than 1024 characters, the limit IMPORT_MAX_RECORD_BYTES');
    await expect(csv(`${'h,'.repeat(20)}h\r\n`)).rejects.toThrow('c.csv: row 1 has more than 16 columns, the limit IMPORT_MAX_COLUMNS');
  });

  it('quotes at most a short excerpt of any input', () => {
    expect(excerpt('abc')).toBe('abc');
    expect(excerpt('z'.repeat(5000))).toBe(`${'z'.repeat(100)}… (5000 characters)`);
  });
});

