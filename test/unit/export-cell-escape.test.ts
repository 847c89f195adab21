import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeCell, needsEscape, needsQuotePrefix, unescapeCell } from '../../src/export/cell-escape.ts';

describe('escapeCell / unescapeCell', () => {
  it.each([
    ['=SUM(A1:A2)', "'=SUM(A1:A2)"],
    ['+65 6123 4567', "'+65 6123 4567"],
    ['-5', "'-5"],
    ['@handle', "'@handle"],
    ['\tindented', "'\tindented"],
    ['\rcarriage', "'\rcarriage"],
    ["'quoted", "''quoted"],
    ['plain', 'plain'],
    ['', ''],
    ['a=b', 'a=b'],
    [' =padded', ' =padded'],
  ])('escapes %j as %j', (raw, escaped) => {
    expect(escapeCell(raw)).toBe(escaped);
    expect(unescapeCell(escaped)).toBe(raw);
  });

  it('adds exactly one apostrophe', () => {
    expect(escapeCell("''x")).toBe("'''x");
    expect(unescapeCell("'''x")).toBe("''x");
  });

  it('leaves an apostrophe alone where escaping would not have added it', () => {
    expect(unescapeCell("'abc")).toBe("'abc");
    expect(unescapeCell("'")).toBe("'");
  });

  it('round-trips every string (escape, then unescape, is the identity)', () => {
    const tricky = fc.constantFrom('=', '+', '-', '@', '\t', '\r', "'", '\n', ' ', 'a');
    const text = fc.oneof(
      fc.string({ unit: 'grapheme-composite' }),
      fc.array(tricky, { maxLength: 6 }).map((parts) => parts.join('')),
      fc.tuple(fc.array(tricky, { maxLength: 3 }), fc.string()).map(([a, b]) => a.join('') + b),
    );
    fc.assert(
      fc.property(text, (s) => unescapeCell(escapeCell(s)) === s),
      { numRuns: 5_000 },
    );
  });

  it('escapes exactly the strings a spreadsheet could read as a formula', () => {
    fc.assert(
      fc.property(fc.string(), (s) => needsEscape(s) === (s.length > 0 && "=+-@\t\r'".includes(s[0] ?? ''))),
    );
  });
});

describe('needsQuotePrefix (XLSX, format 2)', () => {
  it('is true for text a spreadsheet would start a formula with, and only that', () => {
    expect(['=A1', '+65 9123 4567', '-5', '@SUM(A1)'].map(needsQuotePrefix)).toEqual([true, true, true, true]);
    expect(["'x", '\tx', '\rx', 'x=1', '', ' =1'].map(needsQuotePrefix)).toEqual([false, false, false, false, false, false]);
  });
});
