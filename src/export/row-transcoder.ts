import { readInt32, readTimestampMs } from './binary-copy.ts';
import {
  ascii,
  BYTE_CLASS,
  COMMA,
  copy,
  CR,
  isSpace,
  LF,
  MINUS,
  put,
  put2,
  putInt,
  putRange,
  putString,
  putUuid,
  QUOTE_PREFIXED,
  TRIGGER,
  writeCsvText,
  writeXmlText,
  XML_SPECIAL,
  ZERO,
} from './byte-escape.ts';
import type { ByteWriter } from './byte-writer.ts';
import { EXCEL_EPOCH_OFFSET_DAYS, formatExcelSerial, formatIsoUtc, formatNumber } from './cell-format.ts';
import { type ColumnSpec, type ColumnType, type SqlType, sqlTypeOf } from './module-columns.ts';
import { columnLetters } from './xlsx-xml.ts';

/*
 * The hot path of the backup: one row of `COPY … TO STDOUT (FORMAT binary)`, as raw bytes, becomes one CSV record
 * and one sheet `<row>`, written byte by byte into the output chunks. No per-cell string or object is created:
 * pg row parsing plus string formatting cost ~16 µs a row, most of it in strings and their garbage; this ~2.
 *
 * It produces exactly the bytes of the string formatters (csv-writer.ts `createCsvRowFormatter`, xlsx-xml.ts
 * `createSheetRowRenderer`), which stay the readable definition of the format; a property test holds them equal.
 *
 * Input, per row (PostgreSQL's binary COPY, big-endian): int16 field count, then per field an int32 length (-1 for
 * null) and the value's binary form: text as UTF-8, uuid as 16 bytes, timestamptz as int64 microseconds since
 * 2000-01-01 UTC, bool as one byte, float8 as IEEE 754. The file header and trailer are removed beforehand
 * (BinaryCopyFraming).
 */

const ROW_OPEN = ascii('<row r="');
const ROW_OPEN_END = ascii('">');
const ROW_CLOSE = ascii('</row>');
const TEXT_OPEN = ascii('" t="inlineStr"><is><t>');
const TEXT_OPEN_PRESERVE = ascii('" t="inlineStr"><is><t xml:space="preserve">');
// QUOTE_PREFIX_STYLE of xlsx-xml.ts.
const QUOTED_TEXT_OPEN = ascii('" s="3" t="inlineStr"><is><t>');
const QUOTED_TEXT_OPEN_PRESERVE = ascii('" s="3" t="inlineStr"><is><t xml:space="preserve">');
const TEXT_CLOSE = ascii('</t></is></c>');
const DATE_OPEN = ascii('" s="1"><v>');
const NUMBER_OPEN = ascii('"><v>');
const BOOL_OPEN = ascii('" t="b"><v>');
const VALUE_CLOSE = ascii('</v></c>');
const TRUE = ascii('true');
const FALSE = ascii('false');
const EMPTY_QUOTED = ascii('""');

const KIND_TEXT = 0;
const KIND_UUID = 1;
const KIND_DATE = 2;
const KIND_NUMBER = 3;
const KIND_BOOLEAN = 4;
/** The byte length of each fixed-size kind's binary form (0: any). */
const FIXED_LENGTH = Uint8Array.from([0, 16, 8, 8, 1]);
const KINDS: Record<string, number> = {
  'text/text': KIND_TEXT,
  'text/uuid': KIND_UUID,
  'date/timestamptz': KIND_DATE,
  'number/float8': KIND_NUMBER,
  'boolean/bool': KIND_BOOLEAN,
};

const MS_PER_DAY = 86_400_000;
const ISO_DAY_BYTES = 11; // YYYY-MM-DDT
const SERIAL_DAY_BYTES = 8; // up to 7 digits and the point
// The fast path covers years 1900-9999: four-digit years for ISO, non-negative serials for Excel.
const FAST_MIN_MS = -2_208_988_800_000; // 1900-01-01T00:00:00.000Z
const FAST_MAX_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/** The kind of each column for the hot loop; refuses a file type that its wire type cannot carry. */
function kindOf(type: ColumnType, sqlType: SqlType, header: string): number {
  const kind = KINDS[`${type}/${sqlType}`];
  if (kind === undefined) throw new Error(`column ${header}: a ${type} cell cannot come from ${sqlType}`);
  return kind;
}

export class RowTranscoder {
  readonly #kinds: Uint8Array;
  readonly #headers: readonly string[];
  /** `<c r="` and the column letters, per column. */
  readonly #cellPrefixes: Uint8Array[];
  /** The current row number's digits, repeated in every cell reference. */
  readonly #rowDigits = new Uint8Array(16);
  #rowDigitCount = 0;
  // Rows come ordered by creation time, so a date column's consecutive values usually share their day: each
  // column caches the text of its last day (`YYYY-MM-DDT` and the serial's `45000.`).
  readonly #cachedDay: Float64Array;
  readonly #isoDay: Uint8Array;
  readonly #serialDay: Uint8Array;
  readonly #serialDayLength: Uint8Array;
  // Output buffers and positions of the row being written (set by transcode).
  #c: Buffer = Buffer.alloc(0);
  #cp = 0;
  #x: Buffer = Buffer.alloc(0);
  #xp = 0;

  constructor(columns: readonly ColumnSpec[]) {
    this.#kinds = Uint8Array.from(columns.map((c) => kindOf(c.type, sqlTypeOf(c), c.header)));
    this.#headers = columns.map((c) => c.header);
    this.#cellPrefixes = columns.map((_c, i) => ascii(`<c r="${columnLetters(i)}`));
    this.#cachedDay = new Float64Array(columns.length).fill(Number.NaN);
    this.#isoDay = new Uint8Array(columns.length * ISO_DAY_BYTES);
    this.#serialDay = new Uint8Array(columns.length * SERIAL_DAY_BYTES);
    this.#serialDayLength = new Uint8Array(columns.length);
  }

  /** Appends the CSV record (CRLF included) to `csv` and `<row r="rowNumber">…</row>` to `xml`. */
  transcode(row: Buffer, rowNumber: number, csv: ByteWriter, xml: ByteWriter): void {
    const count = this.#kinds.length;
    if (row.length < 2 || (((row[0] as number) << 8) | (row[1] as number)) !== count) {
      throw new Error(`COPY row does not have ${count} fields`);
    }
    // Upper bounds of the output, so that each writer needs a single check per row: a text byte becomes at most
    // 2 CSV bytes (a doubled quote) or 7 XML bytes (`_x0001_`); the fixed parts of a cell fit in the slack.
    csv.ensure(row.length * 2 + count * 48 + 4);
    xml.ensure(row.length * 7 + count * 112 + 32);
    this.#c = csv.buf;
    this.#cp = csv.pos;
    this.#x = xml.buf;
    this.#xp = xml.pos;
    this.#rowDigitCount = putInt(this.#rowDigits, 0, rowNumber);
    this.#xp = put(this.#x, this.#xp, ROW_OPEN);
    this.#xp = putRange(this.#x, this.#xp, this.#rowDigits, 0, this.#rowDigitCount);
    this.#xp = put(this.#x, this.#xp, ROW_OPEN_END);
    let i = 2;
    for (let col = 0; col < count; col++) {
      if (col > 0) this.#c[this.#cp++] = COMMA;
      if (i + 4 > row.length) throw new Error('COPY row ends early');
      const length = readInt32(row, i);
      const s = i + 4;
      i = length < 0 ? s : s + length;
      if (length < 0) continue; // null: an empty CSV field, no cell
      this.#field(row, s, i, col);
    }
    this.#c[this.#cp++] = CR;
    this.#c[this.#cp++] = LF;
    csv.pos = this.#cp;
    xml.pos = put(this.#x, this.#xp, ROW_CLOSE);
  }

  /** One non-null value, at [s, j) of the row. */
  #field(row: Buffer, s: number, j: number, col: number): void {
    const kind = this.#kinds[col] as number;
    if (j > row.length) throw new Error('COPY row ends early');
    if (FIXED_LENGTH[kind] !== 0 && FIXED_LENGTH[kind] !== j - s) {
      throw new Error(`${this.#headers[col]}: unexpected ${j - s}-byte value in COPY row`);
    }
    switch (kind) {
      case KIND_TEXT:
        return this.#text(row, s, j, col);
      case KIND_UUID:
        this.#cp = putUuid(this.#c, this.#cp, row, s);
        this.#cellOpen(col, TEXT_OPEN);
        this.#xp = putUuid(this.#x, this.#xp, row, s);
        this.#xp = put(this.#x, this.#xp, TEXT_CLOSE);
        return;
      case KIND_DATE:
        return this.#date(this.#readTimestamp(row, s, col), col);
      case KIND_BOOLEAN:
        this.#cp = put(this.#c, this.#cp, row[s] !== 0 ? TRUE : FALSE);
        this.#cellOpen(col, BOOL_OPEN);
        this.#x[this.#xp++] = row[s] !== 0 ? ZERO + 1 : ZERO;
        this.#xp = put(this.#x, this.#xp, VALUE_CLOSE);
        return;
      default:
        return this.#number(row.readDoubleBE(s), col);
    }
  }

  #text(row: Buffer, s: number, j: number, col: number): void {
    if (j === s) {
      this.#cp = put(this.#c, this.#cp, EMPTY_QUOTED);
      this.#cellOpen(col, TEXT_OPEN);
      this.#xp = put(this.#x, this.#xp, TEXT_CLOSE);
      return;
    }
    let flags = 0;
    for (let k = s; k < j; k++) flags |= BYTE_CLASS[row[k] as number] as number;
    const prefix = TRIGGER[row[s] as number] === 1; // the CSV spreadsheet-injection `'`
    this.#cp = writeCsvText(this.#c, this.#cp, row, s, j, flags, prefix);
    const preserve = isSpace(row[s] as number) || isSpace(row[j - 1] as number);
    if (QUOTE_PREFIXED[row[s] as number] === 1) this.#cellOpen(col, preserve ? QUOTED_TEXT_OPEN_PRESERVE : QUOTED_TEXT_OPEN);
    else this.#cellOpen(col, preserve ? TEXT_OPEN_PRESERVE : TEXT_OPEN);
    this.#xp = (flags & XML_SPECIAL) === 0 ? copy(this.#x, this.#xp, row, s, j) : writeXmlText(this.#x, this.#xp, row, s, j);
    this.#xp = put(this.#x, this.#xp, TEXT_CLOSE);
  }

  #date(ms: number, col: number): void {
    this.#cellOpen(col, DATE_OPEN);
    if (ms >= FAST_MIN_MS && ms <= FAST_MAX_MS) {
      const day = Math.floor(ms / MS_PER_DAY);
      if (day !== this.#cachedDay[col]) this.#cacheDay(col, day);
      this.#writeIso(col, ms - day * MS_PER_DAY);
      this.#writeSerial(col, ms - day * MS_PER_DAY);
    } else {
      this.#cp = putString(this.#c, this.#cp, formatIsoUtc(ms));
      this.#xp = putString(this.#x, this.#xp, formatExcelSerial(ms));
    }
    this.#xp = put(this.#x, this.#xp, VALUE_CLOSE);
  }

  /** float8 is rare (deals.amount): the string path is fine. */
  #number(value: number, col: number): void {
    const text = formatNumber(value);
    this.#cp = putString(this.#c, this.#cp, text);
    // A numeric cell cannot hold NaN or ±Infinity: they stay readable as text (as in the CSV).
    const finite = Number.isFinite(value);
    this.#cellOpen(col, finite ? NUMBER_OPEN : TEXT_OPEN);
    this.#xp = putString(this.#x, this.#xp, text);
    this.#xp = put(this.#x, this.#xp, finite ? VALUE_CLOSE : TEXT_CLOSE);
  }

  /** Epoch milliseconds of the binary timestamptz at `s`; the archive has no way to write an infinite one. */
  #readTimestamp(row: Uint8Array, s: number, col: number): number {
    const ms = readTimestampMs(row, s);
    if (Number.isNaN(ms)) throw new Error(`${this.#headers[col]} holds an infinite timestamp, which the archive cannot represent`);
    return ms;
  }

  /** `<c r="K123"` and the rest of the opening for a cell of this kind. */
  #cellOpen(col: number, open: Uint8Array): void {
    let p = put(this.#x, this.#xp, this.#cellPrefixes[col] as Uint8Array);
    p = putRange(this.#x, p, this.#rowDigits, 0, this.#rowDigitCount);
    this.#xp = put(this.#x, p, open);
  }

  /** Renders a column's day once: civil date from a day number (H. Hinnant's algorithm) and Excel serial day. */
  #cacheDay(col: number, day: number): void {
    this.#cachedDay[col] = day;
    const z = day + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor((doe - Math.floor(doe / 1_460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const dayOfMonth = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const month = mp < 10 ? mp + 3 : mp - 9;
    const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    const iso = this.#isoDay;
    let p = col * ISO_DAY_BYTES;
    p = put2(iso, p, Math.floor(year / 100));
    p = put2(iso, p, year % 100);
    iso[p++] = MINUS;
    p = put2(iso, p, month);
    iso[p++] = MINUS;
    p = put2(iso, p, dayOfMonth);
    iso[p] = 0x54; // T
    const at = col * SERIAL_DAY_BYTES;
    const digits = putInt(this.#serialDay, at, day + EXCEL_EPOCH_OFFSET_DAYS); // ≥ 0 from 1900 on
    this.#serialDay[at + digits] = 0x2e; // .
    this.#serialDayLength[col] = digits + 1;
  }

  /** `YYYY-MM-DDTHH:mm:ss.sssZ` of the cached day and `rest` milliseconds into it. */
  #writeIso(col: number, rest: number): void {
    const c = this.#c;
    let p = putRange(c, this.#cp, this.#isoDay, col * ISO_DAY_BYTES, ISO_DAY_BYTES);
    const hours = Math.floor(rest / 3_600_000);
    rest -= hours * 3_600_000;
    const minutes = Math.floor(rest / 60_000);
    rest -= minutes * 60_000;
    const seconds = Math.floor(rest / 1_000);
    rest -= seconds * 1_000;
    p = put2(c, p, hours);
    c[p++] = 0x3a; // :
    p = put2(c, p, minutes);
    c[p++] = 0x3a;
    p = put2(c, p, seconds);
    c[p++] = 0x2e; // .
    c[p++] = ZERO + Math.floor(rest / 100);
    p = put2(c, p, rest % 100);
    c[p++] = 0x5a; // Z
    this.#cp = p;
  }

  /** The Excel serial of the cached day and `rest` milliseconds into it, as formatExcelSerial writes it. */
  #writeSerial(col: number, rest: number): void {
    const x = this.#x;
    const p = putRange(x, this.#xp, this.#serialDay, col * SERIAL_DAY_BYTES, this.#serialDayLength[col] as number);
    let nano = Math.round(rest / 0.0864); // the fraction of the day in units of 1e-9
    for (let k = 8; k >= 0; k--, nano = Math.floor(nano / 10)) x[p + k] = ZERO + (nano % 10);
    this.#xp = p + 9;
  }
}


