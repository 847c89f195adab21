/**
 * Spreadsheet-injection guard (API.md §5): a text cell that a spreadsheet could read as a formula gets one leading
 * apostrophe. `unescapeCell` undoes it exactly, so `unescapeCell(escapeCell(s)) === s` for every string `s`.
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

export function escapeCell(text: string): string {
  return needsEscape(text) ? `'${text}` : text;
}

/** Removes exactly one leading `'`, and only where `escapeCell` would have added it. */
export function unescapeCell(text: string): string {
  return text.charCodeAt(0) === APOSTROPHE && TRIGGER_CODES.has(text.charCodeAt(1)) ? text.slice(1) : text;
}
