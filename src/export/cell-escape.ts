/**
 * Spreadsheet-injection guard (API.md §5): a CSV text cell that a spreadsheet could read as a formula gets one
 * leading apostrophe. `unescapeCell` undoes it exactly, so `unescapeCell(escapeCell(s)) === s` for every string `s`.
 * XLSX cells of archive format 2 (API.md §6) are typed text and never need the character: a value that starts a
 * formula is written as it is, with the `quotePrefix` cell style (`needsQuotePrefix`), as Excel marks such text.
 */

/** First characters that make a spreadsheet evaluate or reinterpret a cell; `'` itself is included so that a value
 * already starting with an apostrophe survives the round trip. */
const TRIGGER_CODES = new Set([
  0x3d, // =
  0x2b, // +
  0x2d, // -
  0x40, // @
  0x09, // tab
  0x0d, // CR
  0x27, // '
]);
const APOSTROPHE = 0x27;

export function needsEscape(text: string): boolean {
  return text.length > 0 && TRIGGER_CODES.has(text.charCodeAt(0));
}

/** Where Excel and LibreOffice would start a formula if the text were typed in: the XLSX quotePrefix style. */
export function needsQuotePrefix(text: string): boolean {
  const code = text.charCodeAt(0);
  return code === 0x3d || code === 0x2b || code === 0x2d || code === 0x40;
}

export function escapeCell(text: string): string {
  return needsEscape(text) ? `'${text}` : text;
}

/** Removes exactly one leading `'`, and only where `escapeCell` would have added it. */
export function unescapeCell(text: string): string {
  return text.charCodeAt(0) === APOSTROPHE && TRIGGER_CODES.has(text.charCodeAt(1)) ? text.slice(1) : text;
}
