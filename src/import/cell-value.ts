import { decodeXlsxText } from '../export/xlsx-xml.ts';
import { RejectedCell, type CellValue } from './table.types.ts';
import type { XlsxWorkbook } from './xlsx-workbook.ts';

/**
 * The value of one worksheet cell as the file holds it (API.md §6). A formula cell (`<f>`) is read as the value
 * its application saved beside it (`<v>`), never evaluated: LibreOffice Calc writes a plain boolean as
 * `<c t="b"><f>FALSE()</f><v>0</v></c>`, and a person's edit is what the sheet showed them. A cached text that
 * looks like a formula is only text. Numbers in a date or time style are dates (serial days).
 */
export interface RawXlsxCell {
  /** The `t` attribute (`n` when absent). */
  type: string;
  /** The `s` attribute: index into the workbook's cell formats. */
  style: number;
  formula: boolean;
  /** Whether the cell had a `<v>` or `<is><t>`. */
  hasValue: boolean;
  text: string;
}

const MS_PER_DAY = 86_400_000;
const EPOCH_1900 = 25_569; // 1970-01-01 as an Excel serial day (1900 date system, as exceljs writes)
const EPOCH_1904_SHIFT = 1_462;

export function xlsxCellValue(cell: RawXlsxCell, workbook: XlsxWorkbook): CellValue | RejectedCell {
  if (!cell.hasValue) {
    // Without a saved result there is nothing to read; evaluating the formula is never an option.
    return cell.formula ? new RejectedCell('is a formula with no saved value; formulas are not evaluated') : null;
  }
  switch (cell.type) {
    case 's': {
      const value = workbook.sharedStrings[Number(cell.text)];
      return value === undefined ? new RejectedCell('names a shared string that does not exist') : decodeXlsxText(value);
    }
    case 'str':
    case 'inlineStr':
      // ST_Xstring: characters XML cannot carry are written `_xHHHH_` (Excel's rule, and our writer's).
      return decodeXlsxText(cell.text);
    case 'b':
      return booleanCell(cell.text);
    case 'e':
      return new RejectedCell(`holds the error value ${cell.text}`);
    case 'd':
      return new Date(cell.text);
    default: {
      if (cell.text.trim() === '') return null;
      if (!workbook.dateStyles[cell.style]) return Number(cell.text);
      return new Date(serialToEpochMs(cell.text, workbook.date1904));
    }
  }
}

/** `t="b"`: `1`/`0` by the standard; some writers spell the words. */
function booleanCell(text: string): boolean | RejectedCell {
  const value = text.trim().toLowerCase();
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  return new RejectedCell(`holds ${JSON.stringify(text.slice(0, 20))} as a boolean (expected 1 or 0)`);
}

/**
 * An Excel serial day (`45678.123456789`) as epoch milliseconds, exactly: the whole days and the fraction are
 * converted apart, because one double of a large serial cannot hold a millisecond (ulp of 7e7 days ≈ 1 ms).
 */
export function serialToEpochMs(text: string, date1904: boolean): number {
  const epoch = EPOCH_1900 - (date1904 ? EPOCH_1904_SHIFT : 0);
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) return Math.round((Number(text) - epoch) * MS_PER_DAY);
  const [, sign, whole = '0', fraction = ''] = match;
  const magnitude = Number(whole) * MS_PER_DAY + Math.round(Number(`0.${fraction || '0'}`) * MS_PER_DAY);
  return (sign === '-' ? -magnitude : magnitude) - epoch * MS_PER_DAY;
}
