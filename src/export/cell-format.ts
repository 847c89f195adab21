/**
 * Dates and numbers as the archive writes them: the readable definition, used by the string formatters. The backup's
 * hot path (row-transcoder.ts) writes the same text byte by byte; the unit tests hold the two equal.
 */

const MS_PER_DAY = 86_400_000;
/** Days from 1899-12-30 (Excel's day 0 in the 1900 date system, as exceljs counts it) to 1970-01-01. */
export const EXCEL_EPOCH_OFFSET_DAYS = 25_569;

/** ISO 8601 in UTC with milliseconds: `YYYY-MM-DDTHH:mm:ss.sssZ`. */
export function formatIsoUtc(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The Excel serial number of an instant (days since 1899-12-30, UTC), as XML text: the day, then nine decimals.
 * Nine decimals resolve 86 µs, so `Math.round((serial - 25569) * 86400000)` (how exceljs and others read a date
 * back) returns the exact millisecond. Before 1900 (negative serials, which Excel cannot show) the plain number.
 */
export function formatExcelSerial(ms: number): string {
  const day = Math.floor(ms / MS_PER_DAY);
  const serialDay = day + EXCEL_EPOCH_OFFSET_DAYS;
  if (serialDay < 0 || !Number.isInteger(ms)) return String(EXCEL_EPOCH_OFFSET_DAYS + ms / MS_PER_DAY);
  const nanoDays = Math.round((ms - day * MS_PER_DAY) / 0.0864); // the fraction of the day in units of 1e-9
  return `${serialDay}.${String(nanoDays).padStart(9, '0')}`;
}

/** Shortest round-trip form (`String(n)`), keeping the sign of negative zero. */
export function formatNumber(n: number): string {
  return n === 0 && 1 / n < 0 ? '-0' : String(n);
}
