import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unescapeCell } from '../../src/export/cell-escape.ts';
import type { ByteSink } from '../../src/export/chunk-writer.ts';
import { createCsvRowFormatter, csvField, csvHeaderLine, CsvWriter, UTF8_BOM } from '../../src/export/csv-writer.ts';
import { type CellValue, type ColumnSpec, MODULE_SPECS, type RowValues } from '../../src/export/module-columns.ts';

const COLUMNS: ColumnSpec[] = [
  { header: 'name', type: 'text', sql: 't.name' },
  { header: 'at', type: 'date', sql: 't.at' },
  { header: 'amount', type: 'number', sql: 't.amount' },
  { header: 'flag', type: 'boolean', sql: 't.flag' },
];

/** An independent reader: csv-parse, with `""` read as '' and an unquoted empty field as null. */
function readCsv(text: string): (string | null)[][] {
  return parse(text, {
    bom: true,
    cast: (value, context) => (value === '' && !context.quoting ? null : value),
    relax_column_count: false,
  }) as (string | null)[][];
}

function decode(column: ColumnSpec, field: string | null): CellValue {
  if (field === null) return null;
  switch (column.type) {
    case 'text':
      return unescapeCell(field);
    case 'date':
      return Date.parse(field);
    case 'number':
      return Number(field);
    case 'boolean':
      return field === 'true';
  }
}

describe('CSV fields', () => {
  it.each([
    ['text', 'plain', 'plain'],
    ['text', '', '""'],
    ['text', null, ''],
    ['text', 'a,b', '"a,b"'],
    ['text', 'say "hi"', '"say ""hi"""'],
    ['text', 'two\nlines', '"two\nlines"'],
    ['text', 'crlf\r\n', '"crlf\r\n"'],
    ['text', '=1+1', "'=1+1"],
    ['text', '-"x",', `"'-""x"","`],
    ['text', '\tx', "'\tx"],
    ['text', '😀 日本', '😀 日本'],
    ['date', Date.UTC(2024, 1, 29, 23, 59, 59, 123), '2024-02-29T23:59:59.123Z'],
    ['number', 1e-7, '1e-7'],
    ['number', 1.7976931348623157e308, '1.7976931348623157e+308'],
    ['number', 123456789.123, '123456789.123'],
    ['number', 0, '0'],
    ['boolean', true, 'true'],
    ['boolean', false, 'false'],
  ] as const)('%s %j → %j', (type, value, expected) => {
    expect(csvField(type, value)).toBe(expected);
  });
});

describe('CsvWriter', () => {
  it('starts with a BOM and the header, and ends every record with CRLF', async () => {
    const chunks: Buffer[] = [];
    const sink: ByteSink = { write: async (chunk) => void chunks.push(Buffer.from(chunk)) };
    const writer = new CsvWriter(COLUMNS, sink, 16);
    await writer.writeRows([['a', 0, 1, true], [null, null, null, null]]);
    await writer.end();
    const file = Buffer.concat(chunks);
    expect(file.subarray(0, 3)).toEqual(UTF8_BOM);
    expect(file.subarray(3).toString()).toBe('name,at,amount,flag\r\na,1970-01-01T00:00:00.000Z,1,true\r\n,,,\r\n');
    expect(writer.bytes).toBe(file.length);
  });

  it('writes headers in the order of API.md §5 (with §6\'s website after title)', () => {
    expect(csvHeaderLine(MODULE_SPECS.LEADS.columns)).toBe(
      'id,firstName,lastName,email,phone,company,title,website,status,source,notes,ownerEmail,createdAt,updatedAt,' +
        'retentionEndsAt,deletesAt,maskedAt,legalHold\r\n',
    );
  });

  it('round-trips through an independent parser, null and empty string apart', () => {
    const format = createCsvRowFormatter(COLUMNS);
    const text = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => Buffer.from(s).toString() === s);
    const row = fc.tuple(
      fc.option(fc.oneof(text, fc.constantFrom('', '"', ',', '\r\n', '=x', "'", '\t')), { nil: null }),
      fc.option(fc.integer({ min: -8.64e15, max: 8.64e15 }), { nil: null }),
      fc.option(fc.double(), { nil: null }),
      fc.option(fc.boolean(), { nil: null }),
    );
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 5 }), (rows: RowValues[]) => {
        const parsed = readCsv(csvHeaderLine(COLUMNS) + rows.map(format).join(''));
        expect(parsed[0]).toEqual(COLUMNS.map((c) => c.header));
        const decoded = parsed.slice(1).map((fields) => fields.map((f, i) => decode(COLUMNS[i] as ColumnSpec, f)));
        expect(decoded).toEqual(rows);
      }),
      { numRuns: 2_000 },
    );
  });
});
