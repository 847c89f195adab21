import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatExcelSerial, formatIsoUtc, formatNumber } from '../../src/export/cell-format.ts';

/** How exceljs (and most readers) turn a serial back into an instant. */
const excelToMs = (serial: number): number => Math.round((serial - 25569) * 86_400_000);

const USUAL_MS = fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) });

describe('formatIsoUtc', () => {
  it('writes UTC with milliseconds, across day boundaries and leap days', () => {
    for (const iso of ['2024-02-29T23:59:59.999Z', '2000-03-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z', '0000-01-01T00:00:00.000Z']) {
      expect(formatIsoUtc(Date.parse(iso))).toBe(iso);
    }
  });
});

describe('formatExcelSerial', () => {
  it('reads back as the exact millisecond', () => {
    fc.assert(fc.property(USUAL_MS, (ms) => excelToMs(Number(formatExcelSerial(ms))) === ms), { numRuns: 20_000 });
  });

  it('counts days from 1899-12-30 like exceljs', () => {
    expect(formatExcelSerial(Date.UTC(1970, 0, 1))).toBe('25569.000000000');
    expect(formatExcelSerial(Date.UTC(2024, 0, 1, 12))).toBe('45292.500000000');
  });
});

describe('formatNumber', () => {
  it.each([
    [0, '0'],
    [-0, '-0'],
    [1e-7, '1e-7'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [123456789.123, '123456789.123'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
  ])('writes %d as %s', (n, text) => {
    expect(formatNumber(n)).toBe(text);
  });

  it('round-trips every double', () => {
    fc.assert(fc.property(fc.double(), (n) => Object.is(Number(formatNumber(n)), n)));
  });
});
