import path from 'node:path/posix';
import { checkSharedStringsSize, DEFAULT_IMPORT_LIMITS, xmlTokenGuard, type ImportLimits } from './import-limits.ts';
import { parseXml } from './xml-stream.ts';
import { UnreadableFileError } from './table.types.ts';
import type { ZipReader } from './zip-file.ts';

/**
 * The parts of an XLSX package a reader needs before the sheets: which sheets exist (names, order, entries),
 * which cell styles are dates, the shared strings, and the 1904 date system flag.
 */
export interface XlsxWorkbook {
  sheets: { name: string; entry: string }[];
  /** Per cell-style index (the `s` attribute): whether its number format shows a date or time. */
  dateStyles: boolean[];
  sharedStrings: string[];
  date1904: boolean;
}

// Built-in number formats that show dates or times (ECMA-376 §18.8.30, plus the CJK locale variants).
const BUILTIN_DATE_FORMATS = new Set([14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 45, 46, 47, 50, 51, 52, 53, 54, 55, 56, 57, 58]);

export async function readWorkbook(zip: ZipReader, label: string, limits: ImportLimits = DEFAULT_IMPORT_LIMITS): Promise<XlsxWorkbook> {
  const parts = { zip, guard: () => xmlTokenGuard(limits, label) };
  const workbookEntry = await officeDocument(parts);
  if (!zip.has(workbookEntry)) throw new UnreadableFileError(label, 'is not an XLSX workbook (no xl/workbook.xml)');
  const base = path.dirname(workbookEntry);
  const relsEntry = path.join(base, '_rels', `${path.basename(workbookEntry)}.rels`);
  const rels = zip.has(relsEntry) ? await relationships(parts, relsEntry, base) : new Map<string, { type: string; target: string }>();
  const { sheets, date1904 } = await workbookSheets(parts, workbookEntry, rels);
  const stylesTarget = [...rels.values()].find((r) => r.type.endsWith('/styles'))?.target;
  const stringsTarget = [...rels.values()].find((r) => r.type.endsWith('/sharedStrings'))?.target;
  // Shared strings are held in memory for the whole read (any cell may name any of them): their size is capped.
  if (stringsTarget && zip.has(stringsTarget)) checkSharedStringsSize(zip.size(stringsTarget), limits, label);
  return {
    sheets: sheets.filter((s) => zip.has(s.entry)),
    dateStyles: stylesTarget && zip.has(stylesTarget) ? await dateStyles(parts, stylesTarget) : [],
    sharedStrings: stringsTarget && zip.has(stringsTarget) ? await sharedStrings(parts, stringsTarget) : [],
    date1904,
  };
}

/** The package and a fresh token guard for each part read. */
interface Parts {
  zip: ZipReader;
  guard(): (chunk: string) => void;
}

async function officeDocument(parts: Parts): Promise<string> {
  if (!parts.zip.has('_rels/.rels')) return 'xl/workbook.xml';
  const rels = await relationships(parts, '_rels/.rels', '');
  const doc = [...rels.values()].find((r) => r.type.endsWith('/officeDocument'));
  return doc?.target ?? 'xl/workbook.xml';
}

async function relationships({ zip, guard }: Parts, entry: string, base: string): Promise<Map<string, { type: string; target: string }>> {
  const rels = new Map<string, { type: string; target: string }>();
  await parseXml(await zip.open(entry), {
    open: (name, a) => {
      if (name !== 'Relationship' || !a.Id || !a.Target || a.TargetMode === 'External') return;
      const target = a.Target.startsWith('/') ? a.Target.slice(1) : path.normalize(path.join(base, a.Target));
      rels.set(a.Id, { type: a.Type ?? '', target });
    },
    text: () => undefined,
    close: () => undefined,
  }, guard());
  return rels;
}

async function workbookSheets(
  { zip, guard }: Parts,
  entry: string,
  rels: Map<string, { type: string; target: string }>,
): Promise<{ sheets: XlsxWorkbook['sheets']; date1904: boolean }> {
  const sheets: XlsxWorkbook['sheets'] = [];
  let date1904 = false;
  await parseXml(await zip.open(entry), {
    open: (name, a) => {
      if (name === 'workbookPr') date1904 = a.date1904 === '1' || a.date1904 === 'true';
      if (name !== 'sheet') return;
      const relId = Object.entries(a).find(([k]) => k === 'r:id' || k.endsWith(':id'))?.[1];
      const target = relId ? rels.get(relId)?.target : undefined;
      if (a.name && target) sheets.push({ name: a.name, entry: target });
    },
    text: () => undefined,
    close: () => undefined,
  }, guard());
  return { sheets, date1904 };
}

async function dateStyles({ zip, guard }: Parts, entry: string): Promise<boolean[]> {
  const customDates = new Set<number>();
  const styles: boolean[] = [];
  let inCellXfs = false;
  await parseXml(await zip.open(entry), {
    open: (name, a) => {
      if (name === 'numFmt' && isDateFormatCode(a.formatCode ?? '')) customDates.add(Number(a.numFmtId));
      else if (name === 'cellXfs') inCellXfs = true;
      else if (name === 'xf' && inCellXfs) {
        const id = Number(a.numFmtId ?? 0);
        styles.push(BUILTIN_DATE_FORMATS.has(id) || customDates.has(id));
      }
    },
    text: () => undefined,
    close: (name) => {
      if (name === 'cellXfs') inCellXfs = false;
    },
  }, guard());
  return styles;
}

/** A format code shows a date when, outside quoted text, escapes and [colour]/[$-locale] brackets, it has y/m/d/h/s. */
export function isDateFormatCode(code: string): boolean {
  const bare = code
    .replace(/"[^"]*"/g, '')
    .replace(/\\./g, '')
    .replace(/\[(?!h\]|m\]|s\]|hh\]|mm\]|ss\])[^\]]*\]/gi, '');
  return /[ymdhs]/i.test(bare);
}

async function sharedStrings({ zip, guard }: Parts, entry: string): Promise<string[]> {
  const strings: string[] = [];
  let current: string | undefined;
  let inText = false;
  let inPhonetic = false;
  await parseXml(await zip.open(entry), {
    open: (name) => {
      if (name === 'si') current = '';
      else if (name === 'rPh') inPhonetic = true; // phonetic guides are not part of the value
      else if (name === 't' && !inPhonetic) inText = true;
    },
    text: (text) => {
      if (inText && current !== undefined) current += text;
    },
    close: (name) => {
      if (name === 't') inText = false;
      else if (name === 'rPh') inPhonetic = false;
      else if (name === 'si') {
        strings.push(current ?? '');
        current = undefined;
      }
    },
  }, guard());
  return strings;
}
