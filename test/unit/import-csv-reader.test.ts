import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unescapeCell } from '../../src/export/cell-escape.ts';
import { createCsvRowFormatter, csvHeaderLine, UTF8_BOM } from '../../src/export/csv-writer.ts';
import type { ColumnSpec } from '../../src/export/module-columns.ts';
import { openCsvTable } from '../../src/import/csv-reader.ts';
import { UnreadableFileError, type TableRow } from '../../src/import/table.types.ts';

/** A stream that hands over the bytes in small, odd-sized chunks, so multi-byte characters get split. */
function chunked(data: Buffer | string, size = 7): Readable {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

async function readAll(data: Buffer | string): Promise<{ header: string[]; rows: TableRow[] }> {
  const table = await openCsvTable(chunked(data), 'test.csv');
  const rows: TableRow[] = [];
  for await (const row of table.rows) rows.push(row);
  return { header: table.header, rows };
}

describe('CSV reader', () => {
  it('reads the header, strips the BOM and numbers rows as a spreadsheet does (header = row 1)', async () => {
    const { header, rows } = await readAll(Buffer.concat([UTF8_BOM, Buffer.from('id,name\r\n1,a\r\n2,b\r\n')]));
    expect(header).toEqual(['id', 'name']);
    expect(rows).toEqual([
      { row: 2, cells: ['1', 'a'] },
      { row: 3, cells: ['2', 'b'] },
    ]);
  });

  it('keeps an empty unquoted cell as null and a quoted empty cell as the empty string', async () => {
    const { rows } = await readAll('a,b,c\n,"",x\n');
    expect(rows[0]!.cells).toEqual([null, '', 'x']);
  });

  it('reads quotes, commas, CR, LF and CRLF inside quoted cells, and counts records not lines', async () => {
    const { rows } = await readAll('a,b\r\n"he said ""hi"", then left","line1\nline2\r\nline3\rend"\r\nx,y\r\n');
    expect(rows).toEqual([
      { row: 2, cells: ['he said "hi", then left', 'line1\nline2\r\nline3\rend'] },
      { row: 3, cells: ['x', 'y'] },
    ]);
  });

  it('keeps multi-byte characters whole across chunk boundaries', async () => {
    const text = '名前,😀 emoji,Ünïcödé';
    const { header, rows } = await readAll(`a,b,c\n${text}\n`);
    expect(header).toEqual(['a', 'b', 'c']);
    expect(rows[0]!.cells.join(',')).toBe(text);
  });

  it('passes short and long rows on as they are (the importer reports them)', async () => {
    const { rows } = await readAll('a,b,c\n1,2\n1,2,3,4\n');
    expect(rows.map((r) => r.cells.length)).toEqual([2, 4]);
  });

  it('refuses an empty file and malformed CSV with the file named', async () => {
    await expect(openCsvTable(chunked(''), 'empty.csv')).rejects.toThrow(/empty\.csv: is empty/);
    // Wherever the parser notices (opening the table or reading a row), the whole file is refused.
    const read = async () => {
      const table = await openCsvTable(chunked('a,b\n"unclosed,x\n'), 'bad.csv');
      for await (const _row of table.rows) void _row;
    };
    const error: unknown = await read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnreadableFileError);
    expect((error as Error).message).toMatch(/^bad\.csv: is not valid CSV/);
  });

  it('reads back exactly what the archive CSV writer wrote, for any text or null (property)', async () => {
    const columns: ColumnSpec[] = ['a', 'b', 'c'].map((header) => ({ header, type: 'text', sql: header }));
    const format = createCsvRowFormatter(columns);
    const cell = fc.option(fc.string({ unit: 'binary', maxLength: 12 }), { nil: null });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(cell, cell, cell), { minLength: 1, maxLength: 8 }), async (records) => {
        const body = records.map((r) => format(r)).join('');
        const { rows } = await readAll(Buffer.concat([UTF8_BOM, Buffer.from(csvHeaderLine(columns) + body)]));
        // The writer adds the formula guard (`'`); the reader hands the cell on as written: the importer unescapes.
        const back = rows.map((r) => r.cells.map((c) => (typeof c === 'string' ? unescapeCell(c) : c)));
        expect(back).toEqual(records);
      }),
      { numRuns: 200 },
    );
  });
});
