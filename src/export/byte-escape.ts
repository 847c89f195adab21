/*
 * Byte-level building blocks of row-transcoder.ts: writing constants, digits and uuids into output buffers, and
 * text content as a CSV field or as XML element text, with the same rules as csv-writer.ts and xlsx-xml.ts.
 * Callers reserve room beforehand (ByteWriter.ensure); nothing here checks bounds or allocates.
 */

export const QUOTE = 0x22;
export const COMMA = 0x2c;
export const LF = 0x0a;
export const CR = 0x0d;
export const TAB = 0x09;
export const SPACE = 0x20;
export const APOSTROPHE = 0x27;
export const UNDERSCORE = 0x5f;
export const MINUS = 0x2d;
export const ZERO = 0x30;

/** Content that needs quoting in CSV. */
export const CSV_SPECIAL = 1;
/** Content that needs care in XML: markup, CR, forbidden controls, a possible `_xHHHH_`, a possible U+FFFE/U+FFFF. */
export const XML_SPECIAL = 2;
/** A `"`, which CSV doubles. */
export const HAS_QUOTE = 4;
export const BYTE_CLASS = new Uint8Array(256);
for (const b of [COMMA, CR, LF]) BYTE_CLASS[b] = CSV_SPECIAL;
BYTE_CLASS[QUOTE] = CSV_SPECIAL | HAS_QUOTE;
for (let b = 0; b < 0x20; b++) if (b !== TAB && b !== LF) BYTE_CLASS[b] = (BYTE_CLASS[b] ?? 0) | XML_SPECIAL;
for (const b of [0x26, 0x3c, 0x3e, UNDERSCORE, 0xef]) BYTE_CLASS[b] = XML_SPECIAL;

/** First bytes that get the spreadsheet-injection `'` in CSV (cell-escape.ts). */
export const TRIGGER = new Uint8Array(256);
for (const b of [0x3d, 0x2b, MINUS, 0x40, TAB, CR, APOSTROPHE]) TRIGGER[b] = 1;

/** First bytes that get the XLSX quotePrefix style (cell-escape.ts `needsQuotePrefix`). */
export const QUOTE_PREFIXED = new Uint8Array(256);
for (const b of [0x3d, 0x2b, MINUS, 0x40]) QUOTE_PREFIXED[b] = 1;

export const HEX_UPPER = new Uint8Array(Buffer.from('0123456789ABCDEF', 'latin1'));
export const HEX_LOWER = new Uint8Array(Buffer.from('0123456789abcdef', 'latin1'));
export const IS_HEX = new Uint8Array(256);
for (const b of Buffer.from('0123456789abcdefABCDEF', 'latin1')) IS_HEX[b] = 1;

export const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
const AMP = ascii('&amp;');
const LT = ascii('&lt;');
const GT = ascii('&gt;');
const CR_REF = ascii('&#13;');

export function put(out: Buffer, p: number, bytes: Uint8Array): number {
  for (let k = 0; k < bytes.length; k++) out[p + k] = bytes[k] as number;
  return p + bytes.length;
}

export function putString(out: Buffer, p: number, text: string): number {
  return p + out.write(text, p);
}

export function putRange(out: Buffer, p: number, bytes: Uint8Array, start: number, length: number): number {
  for (let k = 0; k < length; k++) out[p + k] = bytes[start + k] as number;
  return p + length;
}

export function put2(out: Uint8Array, p: number, n: number): number {
  out[p] = ZERO + Math.floor(n / 10);
  out[p + 1] = ZERO + (n % 10);
  return p + 2;
}

/** Writes the decimal digits of a non-negative integer below 2^53; returns their count. */
export function putInt(out: Uint8Array, p: number, n: number): number {
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  for (let k = digits - 1, t = n; k >= 0; k--, t = Math.floor(t / 10)) out[p + k] = ZERO + (t % 10);
  return digits;
}

export function isSpace(b: number): boolean {
  return b === SPACE || b === TAB || b === LF || b === CR;
}

export function copy(out: Buffer, p: number, row: Uint8Array, s: number, j: number): number {
  for (let k = s; k < j; k++) out[p++] = row[k] as number;
  return p;
}

/** `8-4-4-4-12` lower-case hex, as PostgreSQL prints a uuid. */
export function putUuid(out: Buffer, p: number, row: Uint8Array, s: number): number {
  for (let k = 0; k < 16; k++) {
    if (k === 4 || k === 6 || k === 8 || k === 10) out[p++] = MINUS;
    const b = row[s + k] as number;
    out[p++] = HEX_LOWER[b >> 4] as number;
    out[p++] = HEX_LOWER[b & 15] as number;
  }
  return p;
}

/** A CSV field from text content [s, j): quoted (quotes doubled) when it holds `"`, `,`, CR or LF. */
export function writeCsvText(c: Buffer, cp: number, row: Uint8Array, s: number, j: number, flags: number, prefix: boolean): number {
  let p = cp;
  const quote = (flags & CSV_SPECIAL) !== 0;
  if (quote) c[p++] = QUOTE;
  if (prefix) c[p++] = APOSTROPHE;
  if ((flags & HAS_QUOTE) === 0) {
    p = copy(c, p, row, s, j);
  } else {
    for (let k = s; k < j; k++) {
      const b = row[k] as number;
      c[p++] = b;
      if (b === QUOTE) c[p++] = QUOTE;
    }
  }
  if (quote) c[p++] = QUOTE;
  return p;
}

/** XML text from content [s, j): escapes markup, CR, forbidden controls, U+FFFE/U+FFFF and `_xHHHH_` look-alikes. */
export function writeXmlText(x: Buffer, xp: number, row: Uint8Array, s: number, j: number): number {
  let p = xp;
  for (let k = s; k < j; k++) {
    const b = row[k] as number;
    if (((BYTE_CLASS[b] as number) & XML_SPECIAL) === 0) {
      x[p++] = b;
    } else if (b === 0x26) {
      p = put(x, p, AMP);
    } else if (b === 0x3c) {
      p = put(x, p, LT);
    } else if (b === 0x3e) {
      p = put(x, p, GT);
    } else if (b === CR) {
      p = put(x, p, CR_REF);
    } else if (b === UNDERSCORE) {
      if (startsEscape(row, k, j)) p = putEscape(x, p, UNDERSCORE);
      else x[p++] = b;
    } else if (b === 0xef) {
      // U+FFFE and U+FFFF (EF BF BE, EF BF BF) are not XML characters.
      const b2 = row[k + 2] as number;
      if (k + 2 < j && row[k + 1] === 0xbf && (b2 === 0xbe || b2 === 0xbf)) {
        p = putEscape(x, p, b2 === 0xbe ? 0xfffe : 0xffff);
        k += 2;
      } else {
        x[p++] = b;
      }
    } else {
      p = putEscape(x, p, b); // C0 control
    }
  }
  return p;
}

/** Whether content at k reads `_xHHHH_` (which Excel would decode, so the `_` itself must be escaped). */
function startsEscape(row: Uint8Array, k: number, j: number): boolean {
  return (
    k + 6 < j &&
    row[k + 1] === 0x78 &&
    IS_HEX[row[k + 2] as number] === 1 &&
    IS_HEX[row[k + 3] as number] === 1 &&
    IS_HEX[row[k + 4] as number] === 1 &&
    IS_HEX[row[k + 5] as number] === 1 &&
    row[k + 6] === UNDERSCORE
  );
}

function putEscape(x: Buffer, p: number, code: number): number {
  x[p] = UNDERSCORE;
  x[p + 1] = 0x78; // x
  x[p + 2] = HEX_UPPER[(code >> 12) & 15] as number;
  x[p + 3] = HEX_UPPER[(code >> 8) & 15] as number;
  x[p + 4] = HEX_UPPER[(code >> 4) & 15] as number;
  x[p + 5] = HEX_UPPER[code & 15] as number;
  x[p + 6] = UNDERSCORE;
  return p + 7;
}

