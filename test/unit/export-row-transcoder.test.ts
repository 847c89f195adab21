import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/export/byte-writer.ts';
import { createCsvRowFormatter } from '../../src/export/csv-writer.ts';
import { type CellValue, type ColumnSpec, MODULE_SPECS, type RowValues, sqlTypeOf } from '../../src/export/module-columns.ts';
import { BinaryCopyFraming } from '../../src/export/binary-copy.ts';
import { RowTranscoder } from '../../src/export/row-transcoder.ts';
import { createSheetRowRenderer } from '../../src/export/xlsx-xml.ts';

const int16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** One row as `COPY … TO STDOUT (FORMAT binary)` sends it (without the file header). */
function pgBinaryRow(columns: readonly ColumnSpec[], row: RowValues): Buffer {
  const parts = [int16(columns.length)];
  columns.forEach((column, i) => {
    const value = row[i] ?? null;
    if (value === null) {
      parts.push(int32(-1));
      return;
    }
    let bytes: Buffer;
    switch (sqlTypeOf(column)) {
      case 'text':
        bytes = Buffer.from(String(value));
        break;
      case 'uuid':
        bytes = Buffer.from(String(value).replaceAll('-', ''), 'hex');
        break;
      case 'timestamptz':
        bytes = Buffer.alloc(8);
        bytes.writeBigInt64BE((BigInt(Number(value)) - 946_684_800_000n) * 1000n);
        break;
      case 'bool':
        bytes = Buffer.from([value ? 1 : 0]);
        break;
      case 'float8':
        bytes = Buffer.alloc(8);
        bytes.writeDoubleBE(Number(value));
        break;
    }
    parts.push(int32(bytes.length), bytes);
  });
  return Buffer.concat(parts);
}

function transcode(columns: readonly ColumnSpec[], row: RowValues, rowNumber: number): { csv: string; xml: string } {
  const transcoder = new RowTranscoder(columns);
  const csv = new ByteWriter(64);
  const xml = new ByteWriter(64);
  transcoder.transcode(pgBinaryRow(columns, row), rowNumber, csv, xml);
  return {
    csv: Buffer.concat(csv.take(true)).toString('utf8'),
    xml: Buffer.concat(xml.take(true)).toString('utf8'),
  };
}

const ALL_TYPES: ColumnSpec[] = [
  { header: 'id', type: 'text', sqlType: 'uuid', sql: 't.id' },
  { header: 'note', type: 'text', sql: 't.note' },
  { header: 'at', type: 'date', sql: 't.at' },
  { header: 'amount', type: 'number', sql: 't.amount' },
  { header: 'flag', type: 'boolean', sql: 't.flag' },
  { header: 'other', type: 'text', sql: 't.other' },
];

const NASTY = [
  '', ' ', 'a,b', 'say "hi"', '"', '""', 'line1\nline2', 'crlf\r\nend', '\rlead', '\tlead', 'trail\t', ' both ',
  '=1+1', '+65', '-5', '@user', "'quoted", '\\.', '_x0041_', '_X00ff_', '__x1234_', 'a_x12_', '&<>', ']]>',
  '\u0001\u0008\u000b\u000c\u001f', '\uFFFE\uFFFF', '\uFFFD', '😀 emoji', '日本語のテキスト', 'é', 'tab\tinside',
];
const text = fc
  .oneof(
    fc.constantFrom(...NASTY),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.array(fc.constantFrom(...NASTY), { maxLength: 4 }).map((parts) => parts.join('')),
  )
  .filter((s) => Buffer.from(s).toString() === s && !s.includes('\u0000')); // PostgreSQL text holds neither
const date = fc.oneof(
  fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2200, 0, 1) }),
  fc.integer({ min: -8_640_000_000_000_000, max: 8_640_000_000_000_000 }),
  fc.constantFrom(Date.UTC(1900, 0, 1), Date.UTC(1899, 11, 31, 23, 59, 59, 999), Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
);
const number = fc.oneof(fc.double(), fc.constantFrom(0, -0, 1e-7, 1.7976931348623157e308, 123456789.123, 1e15, 1e21));
const uuid = fc.uuid().map((u) => u.toLowerCase());
const cell = (column: ColumnSpec): fc.Arbitrary<CellValue> => {
  const values = { text, date, number, boolean: fc.boolean() };
  const value = (sqlTypeOf(column) === 'uuid' ? uuid : values[column.type]) as fc.Arbitrary<CellValue>;
  return fc.option(value, { nil: null, freq: 4 });
};
const rowOf = (columns: readonly ColumnSpec[]): fc.Arbitrary<RowValues> => fc.tuple(...columns.map(cell));

describe('RowTranscoder', () => {
  for (const [name, columns] of [
    ['all types', ALL_TYPES],
    ['contacts', MODULE_SPECS.CONTACTS.columns],
    ['deals', MODULE_SPECS.DEALS.columns],
  ] as const) {
    it(`writes the same bytes as the string formatters (${name})`, () => {
      const csvOf = createCsvRowFormatter(columns);
      const xmlOf = createSheetRowRenderer(columns);
      fc.assert(
        fc.property(rowOf(columns), fc.integer({ min: 2, max: 1_048_576 }), (row, rowNumber) => {
          const out = transcode(columns, row, rowNumber);
          expect(out.csv).toBe(csvOf(row));
          expect(out.xml).toBe(xmlOf(row, rowNumber));
        }),
        { numRuns: 3_000 },
      );
    });
  }

  it('keeps its per-column day cache right when days change between rows', () => {
    const columns = ALL_TYPES;
    const transcoder = new RowTranscoder(columns);
    const csvOf = createCsvRowFormatter(columns);
    const csv = new ByteWriter(1 << 16);
    const xml = new ByteWriter(1 << 16);
    const rows: RowValues[] = [];
    for (let i = 0; i < 500; i++) rows.push([randomUUID(), null, Date.UTC(2024, 0, 1) + i * 7_654_321, i, i % 2 === 0, null]);
    for (const [i, row] of rows.entries()) transcoder.transcode(pgBinaryRow(columns, row), i + 2, csv, xml);
    expect(Buffer.concat(csv.take(true)).toString()).toBe(rows.map(csvOf).join(''));
  });

  it('rejects malformed rows', () => {
    const transcoder = new RowTranscoder(ALL_TYPES);
    const out = (): ByteWriter => new ByteWriter(64);
    const good = pgBinaryRow(ALL_TYPES, [randomUUID(), 'a', 0, 1, true, null]);
    expect(() => transcoder.transcode(Buffer.from([0, 2]), 2, out(), out())).toThrow(/does not have 6 fields/);
    expect(() => transcoder.transcode(good.subarray(0, good.length - 6), 2, out(), out())).toThrow(/ends early/);
    const infinite = pgBinaryRow(ALL_TYPES, [null, null, 0, null, null, null]);
    infinite.set([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 2 + 4 + 4 + 4);
    expect(() => transcoder.transcode(infinite, 2, out(), out())).toThrow(/at holds an infinite timestamp/);
  });

  it('reads exact milliseconds from far-future and far-past timestamps', () => {
    const columns = [ALL_TYPES[2] as ColumnSpec];
    for (const iso of ['9999-12-31T23:59:59.999Z', '1715-03-04T05:06:07.089Z', '2286-01-01T00:00:00.001Z', '1969-12-31T23:59:59.999Z']) {
      expect(transcode(columns, [Date.parse(iso)], 2).csv).toBe(`${iso}\r\n`);
    }
  });
});

describe('BinaryCopyFraming', () => {
  const header = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), int32(0), int32(0)]);
  const trailer = Buffer.from([0xff, 0xff]);

  it('strips the header from the first message and recognizes the trailer', () => {
    const row = pgBinaryRow(ALL_TYPES, [null, 'x', null, null, null, null]);
    const framing = new BinaryCopyFraming();
    expect(framing.row(Buffer.concat([header, row]))).toEqual(row);
    expect(framing.row(row)).toEqual(row);
    expect(framing.row(trailer)).toBeUndefined();
  });

  it('handles a COPY without rows (header and trailer in one message)', () => {
    expect(new BinaryCopyFraming().row(Buffer.concat([header, trailer]))).toBeUndefined();
  });

  it('refuses anything else', () => {
    expect(() => new BinaryCopyFraming().row(Buffer.from('id,name\n'))).toThrow(/not a binary COPY/);
  });
});
