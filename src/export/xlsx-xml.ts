import { needsQuotePrefix } from './cell-escape.ts';
import { formatExcelSerial, formatNumber } from './cell-format.ts';
import type { ColumnSpec, ColumnType, RowValues } from './module-columns.ts';

/*
 * SpreadsheetML rendering of sheet rows and of the few fixed parts of a workbook. Rows are rendered here rather than
 * by exceljs: its streaming writer spends ~40 µs a row in per-cell objects, style lookups and its XML builder
 * (profiled: 45 s and 780 MB for a million contacts, see bench/backup-archive.ts), an order of magnitude over the
 * budget. Text goes in inline strings (`t="inlineStr"`), never `<f>`, so nothing is evaluated; it is written
 * verbatim (archive format 2), text that would start a formula with the quotePrefix style (API.md §6).
 */

const MAIN_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const REL_NS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const PKG_REL_NS = 'http://schemas.openxmlformats.org/package/2006/relationships';
const XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';

/** Cell style indexes in `stylesXml` (cellXfs). */
const DATE_STYLE = 1;
const HEADER_STYLE = 2;
/** `quotePrefix="1"`: typed text that starts with `=`, `+`, `-` or `@`, shown as it is (no `'` in the value). */
export const QUOTE_PREFIX_STYLE = 3;
export const DATE_FORMAT = 'yyyy-mm-dd hh:mm:ss.000';

// XML 1.0 forbids most C0 controls and U+FFFE/U+FFFF; a parser turns CR into LF. Those characters, and an `_` that
// would start an `_xHHHH_` escape, are written in the ST_Xstring form `_xHHHH_` that Excel decodes
// (a CR as `&#13;`, which survives line-end normalization).
const NEEDS_ENCODING = /[&<>\r\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;
const ENCODE = /[&<>\r\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|_(?=x[0-9A-Fa-f]{4}_)/g;
const DECODE = /_x([0-9A-Fa-f]{4})_/g;

function encodeChar(ch: string): string {
  switch (ch) {
    case '&':
      return '&amp;';
    case '<':
      return '&lt;';
    case '>':
      return '&gt;';
    case '\r':
      return '&#13;';
    default:
      return `_x${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}_`;
  }
}

/** Text as the content of an XML element in a sheet. */
export function encodeXlsxText(text: string): string {
  return NEEDS_ENCODING.test(text) || text.includes('_x') ? text.replace(ENCODE, encodeChar) : text;
}

/**
 * Undoes the `_xHHHH_` escapes (after the XML parser has resolved entities). Excel does this itself; exceljs's
 * readers do not for inline strings, so the restore side applies this to every text cell it reads.
 */
export function decodeXlsxText(text: string): string {
  return text.includes('_x') ? text.replace(DECODE, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))) : text;
}

function isXmlSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function textCell(ref: string, value: string, style = ''): string {
  const open =
    isXmlSpace(value.charCodeAt(0)) || isXmlSpace(value.charCodeAt(value.length - 1))
      ? '<t xml:space="preserve">'
      : '<t>';
  return `<c r="${ref}"${style} t="inlineStr"><is>${open}${encodeXlsxText(value)}</t></is></c>`;
}

/** `A`, `B`, … `Z`, `AA`, … for a zero-based column index. */
export function columnLetters(index: number): string {
  let n = index + 1;
  let letters = '';
  while (n > 0) {
    const rem = (n - 1) % 26;
    letters = String.fromCharCode(65 + rem) + letters;
    n = Math.floor((n - 1) / 26);
  }
  return letters;
}

function valueCell(type: ColumnType, ref: string, value: string | number | boolean): string {
  switch (type) {
    case 'text':
    {
      const text = typeof value === 'string' ? value : String(value);
      return textCell(ref, text, needsQuotePrefix(text) ? ` s="${QUOTE_PREFIX_STYLE}"` : '');
    }
    case 'date':
      return `<c r="${ref}" s="${DATE_STYLE}"><v>${formatExcelSerial(Number(value))}</v></c>`;
    case 'number': {
      const n = Number(value);
      // A numeric cell cannot hold NaN or ±Infinity; they stay readable as text (and as in the CSV).
      return Number.isFinite(n) ? `<c r="${ref}"><v>${formatNumber(n)}</v></c>` : textCell(ref, String(n));
    }
    case 'boolean':
      return `<c r="${ref}" t="b"><v>${value === true ? 1 : 0}</v></c>`;
  }
}

export type SheetRowRenderer = (row: RowValues, rowNumber: number) => string;

/** Renders one `<row>`; null cells are left out. */
export function createSheetRowRenderer(columns: readonly ColumnSpec[]): SheetRowRenderer {
  const types = columns.map((c) => c.type);
  const letters = columns.map((_c, i) => columnLetters(i));
  return (row, rowNumber) => {
    const r = String(rowNumber);
    let xml = `<row r="${r}">`;
    for (let i = 0; i < types.length; i++) {
      const value = row[i];
      if (value !== null && value !== undefined) xml += valueCell(types[i] ?? 'text', `${letters[i]}${r}`, value);
    }
    return `${xml}</row>`;
  };
}

function columnWidth(column: ColumnSpec): number {
  if (column.header === 'id' || column.header.endsWith('Id')) return 38;
  return column.type === 'date' ? 24 : column.type === 'text' ? 22 : 12;
}

/** Everything of a worksheet before its first data row: frozen header row, column widths, the header row. */
export function sheetHeadXml(columns: readonly ColumnSpec[]): string {
  const cols = columns
    .map((c, i) => `<col min="${i + 1}" max="${i + 1}" width="${columnWidth(c)}" customWidth="1"/>`)
    .join('');
  const header = columns.map((c, i) => textCell(`${columnLetters(i)}1`, c.header, ` s="${HEADER_STYLE}"`)).join('');
  return (
    `${XML_DECL}<worksheet xmlns="${MAIN_NS}" xmlns:r="${REL_NS}">` +
    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' +
    '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>' +
    `<cols>${cols}</cols><sheetData><row r="1">${header}</row>`
  );
}

export const SHEET_TAIL_XML = '</sheetData></worksheet>';

function attr(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

export function contentTypesXml(sheetCount: number): string {
  const sheets = Array.from(
    { length: sheetCount },
    (_v, i) =>
      `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ` +
      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>',
  ).join('');
  return (
    `${XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
    '<Default Extension="xml" ContentType="application/xml"/>' +
    '<Override PartName="/xl/workbook.xml" ' +
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
    '<Override PartName="/xl/styles.xml" ' +
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>' +
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>' +
    `${sheets}</Types>`
  );
}

export function rootRelsXml(): string {
  return (
    `${XML_DECL}<Relationships xmlns="${PKG_REL_NS}">` +
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" ' +
    'Target="xl/workbook.xml"/>' +
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" ' +
    'Target="docProps/core.xml"/></Relationships>'
  );
}

export function coreXml(creator: string, created: Date): string {
  const at = created.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return (
    `${XML_DECL}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ` +
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<dc:creator>${attr(creator)}</dc:creator>` +
    `<dcterms:created xsi:type="dcterms:W3CDTF">${at}</dcterms:created>` +
    `<dcterms:modified xsi:type="dcterms:W3CDTF">${at}</dcterms:modified></cp:coreProperties>`
  );
}

export function workbookXml(sheetNames: readonly string[]): string {
  const sheets = sheetNames.map((name, i) => `<sheet name="${attr(name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`);
  return (
    `${XML_DECL}<workbook xmlns="${MAIN_NS}" xmlns:r="${REL_NS}">` +
    `<bookViews><workbookView/></bookViews><sheets>${sheets.join('')}</sheets></workbook>`
  );
}

export function workbookRelsXml(sheetCount: number): string {
  const sheets = Array.from(
    { length: sheetCount },
    (_v, i) =>
      `<Relationship Id="rId${i + 1}" ` +
      'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" ' +
      `Target="worksheets/sheet${i + 1}.xml"/>`,
  ).join('');
  return (
    `${XML_DECL}<Relationships xmlns="${PKG_REL_NS}">${sheets}` +
    `<Relationship Id="rId${sheetCount + 1}" ` +
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>' +
    '</Relationships>'
  );
}

/** Four cell formats: 0 default, 1 date-time with milliseconds, 2 bold header, 3 quote-prefixed text. */
export function stylesXml(): string {
  const font = (bold: boolean): string =>
    `<font>${bold ? '<b/>' : ''}<sz val="11"/><name val="Calibri"/><family val="2"/></font>`;
  return (
    `${XML_DECL}<styleSheet xmlns="${MAIN_NS}">` +
    `<numFmts count="1"><numFmt numFmtId="164" formatCode="${DATE_FORMAT}"/></numFmts>` +
    `<fonts count="2">${font(false)}${font(true)}</fonts>` +
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>' +
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>' +
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' +
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>' +
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' +
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>' +
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/></cellXfs>' +
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
  );
}
