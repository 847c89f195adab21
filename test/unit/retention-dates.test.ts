import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addPeriod,
  computeRecordDates,
  moveRetentionDate,
  type Period,
  PERIOD_UNITS,
  periodToPgInterval,
  type RetentionPolicyInput,
  type RetentionRules,
  validatePolicyInput,
} from '../../src/modules/retention/retention-dates.ts';

const DAY_MS = 86_400_000;
const at = (iso: string): Date => new Date(iso);
const iso = (date: Date): string => date.toISOString();

describe('addPeriod', () => {
  it.each<[string, Period, string]>([
    ['2026-01-31T10:00:00.000Z', { value: 1, unit: 'MONTHS' }, '2026-02-28T10:00:00.000Z'],
    ['2028-01-31T10:00:00.000Z', { value: 1, unit: 'MONTHS' }, '2028-02-29T10:00:00.000Z'],
    ['2028-02-29T23:59:59.999Z', { value: 1, unit: 'YEARS' }, '2029-02-28T23:59:59.999Z'],
    ['2028-02-29T00:00:00.000Z', { value: 4, unit: 'YEARS' }, '2032-02-29T00:00:00.000Z'],
    ['2026-03-31T00:00:00.000Z', { value: 1, unit: 'MONTHS' }, '2026-04-30T00:00:00.000Z'],
    ['2026-08-31T12:00:00.000Z', { value: 6, unit: 'MONTHS' }, '2027-02-28T12:00:00.000Z'],
    ['2026-11-15T08:00:00.000Z', { value: 3, unit: 'MONTHS' }, '2027-02-15T08:00:00.000Z'],
    ['2026-01-31T10:00:00.000Z', { value: 12, unit: 'MONTHS' }, '2027-01-31T10:00:00.000Z'],
    ['2026-03-28T12:00:00.000Z', { value: 1, unit: 'DAYS' }, '2026-03-29T12:00:00.000Z'], // UTC has no DST day
    ['2026-12-31T23:00:00.000Z', { value: 2, unit: 'WEEKS' }, '2027-01-14T23:00:00.000Z'],
    ['2026-05-05T05:05:05.005Z', { value: 0, unit: 'DAYS' }, '2026-05-05T05:05:05.005Z'],
    ['2026-05-05T05:05:05.005Z', { value: 0, unit: 'YEARS' }, '2026-05-05T05:05:05.005Z'],
    ['2026-01-15T00:00:00.000Z', { value: 1000, unit: 'YEARS' }, '3026-01-15T00:00:00.000Z'],
  ])('%s + %o = %s', (from, period, expected) => {
    expect(iso(addPeriod(at(from), period))).toBe(expected);
  });

  it('keeps years below 100 as they are (no 19xx surprise)', () => {
    const early = new Date(0);
    early.setUTCFullYear(50, 0, 31);
    const result = addPeriod(early, { value: 1, unit: 'MONTHS' });
    expect([result.getUTCFullYear(), result.getUTCMonth(), result.getUTCDate()]).toEqual([50, 1, 28]);
  });

  it('does not mutate its input', () => {
    const input = at('2026-01-31T10:00:00.000Z');
    addPeriod(input, { value: 1, unit: 'MONTHS' });
    expect(iso(input)).toBe('2026-01-31T10:00:00.000Z');
  });

  it('rejects negative or fractional values, unknown units, and invalid dates', () => {
    const date = at('2026-01-01T00:00:00Z');
    expect(() => addPeriod(date, { value: -1, unit: 'DAYS' })).toThrow(RangeError);
    expect(() => addPeriod(date, { value: 1.5, unit: 'MONTHS' })).toThrow(RangeError);
    expect(() => addPeriod(date, { value: Number.NaN, unit: 'DAYS' })).toThrow(RangeError);
    expect(() => addPeriod(date, { value: 1, unit: 'HOURS' } as unknown as Period)).toThrow(/unit/);
    expect(() => addPeriod(new Date(Number.NaN), { value: 1, unit: 'DAYS' })).toThrow(/valid Date/);
    expect(() => addPeriod(new Date(8.64e15), { value: 1, unit: 'DAYS' })).toThrow(/out of the Date range/);
  });

  it('is monotonic by calendar day, not by the millisecond, across a month-end clamp (as in PostgreSQL)', () => {
    const oneMonth: Period = { value: 1, unit: 'MONTHS' };
    const earlier = addPeriod(at('2026-01-30T23:00:00Z'), oneMonth);
    const later = addPeriod(at('2026-01-31T01:00:00Z'), oneMonth);
    expect([iso(earlier), iso(later)]).toEqual(['2026-02-28T23:00:00.000Z', '2026-02-28T01:00:00.000Z']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties

const dateArb = fc.date({
  min: new Date('1970-01-01T00:00:00Z'),
  max: new Date('2200-12-31T23:59:59.999Z'),
  noInvalidDate: true,
});
// Month ends and leap days are where calendar arithmetic goes wrong: draw them often.
const monthEndArb = fc
  .tuple(
    fc.integer({ min: 1970, max: 2200 }),
    fc.integer({ min: 0, max: 11 }),
    fc.integer({ min: 28, max: 31 }),
    fc.integer({ min: 0, max: DAY_MS - 1 }),
  )
  .map(([year, month, day, time]) => {
    const date = new Date(Date.UTC(year, month, 1) + time);
    date.setUTCDate(Math.min(day, daysInMonth(year, month)));
    return date;
  });
const anyDateArb = fc.oneof(dateArb, monthEndArb);
const periodArb: fc.Arbitrary<Period> = fc.record({
  value: fc.integer({ min: 0, max: 1000 }),
  unit: fc.constantFrom(...PERIOD_UNITS),
});
const calendarPeriodArb: fc.Arbitrary<Period> = fc.record({
  value: fc.integer({ min: 0, max: 1000 }),
  unit: fc.constantFrom('MONTHS' as const, 'YEARS' as const),
});

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}
const utcDay = (date: Date): number => Math.floor(date.getTime() / DAY_MS);
const timeOfDay = (date: Date): number => date.getTime() - utcDay(date) * DAY_MS;
const RUNS = { numRuns: 500 };

describe('addPeriod: properties', () => {
  it('never goes back: result ≥ input', () => {
    fc.assert(
      fc.property(anyDateArb, periodArb, (date, period) => {
        expect(addPeriod(date, period).getTime()).toBeGreaterThanOrEqual(date.getTime());
      }),
      RUNS,
    );
  });

  it('DAYS and WEEKS add exact multiples of 86,400,000 ms', () => {
    fc.assert(
      fc.property(anyDateArb, fc.integer({ min: 0, max: 1000 }), fc.constantFrom('DAYS' as const, 'WEEKS' as const), (date, value, unit) => {
        const days = unit === 'WEEKS' ? value * 7 : value;
        expect(addPeriod(date, { value, unit }).getTime() - date.getTime()).toBe(days * DAY_MS);
      }),
      RUNS,
    );
  });

  it('MONTHS and YEARS land in the expected month, on min(day, last day), at the same time of day', () => {
    fc.assert(
      fc.property(anyDateArb, calendarPeriodArb, (date, period) => {
        const result = addPeriod(date, period);
        const months = period.value * (period.unit === 'YEARS' ? 12 : 1);
        const target = date.getUTCFullYear() * 12 + date.getUTCMonth() + months;
        const [year, month] = [Math.floor(target / 12), target % 12];
        expect([result.getUTCFullYear(), result.getUTCMonth()]).toEqual([year, month]);
        expect(result.getUTCDate()).toBe(Math.min(date.getUTCDate(), daysInMonth(year, month)));
        expect(timeOfDay(result)).toBe(timeOfDay(date));
      }),
      RUNS,
    );
  });

  it('N YEARS is 12·N MONTHS', () => {
    fc.assert(
      fc.property(anyDateArb, fc.integer({ min: 0, max: 83 }), (date, value) => {
        expect(addPeriod(date, { value, unit: 'YEARS' })).toEqual(addPeriod(date, { value: value * 12, unit: 'MONTHS' }));
      }),
      RUNS,
    );
  });

  it('is monotonic: a < b ⇒ addPeriod(a) ≤ addPeriod(b) (DAYS/WEEKS strictly; MONTHS/YEARS by calendar day)', () => {
    fc.assert(
      fc.property(anyDateArb, anyDateArb, periodArb, (x, y, period) => {
        fc.pre(x.getTime() !== y.getTime());
        const [a, b] = x < y ? [x, y] : [y, x];
        const [fa, fb] = [addPeriod(a, period), addPeriod(b, period)];
        if (period.unit === 'DAYS' || period.unit === 'WEEKS') expect(fa.getTime()).toBeLessThan(fb.getTime());
        else expect(utcDay(fa)).toBeLessThanOrEqual(utcDay(fb));
      }),
      RUNS,
    );
  });

  it('is monotonic to the millisecond for records created at the same time of day', () => {
    fc.assert(
      fc.property(anyDateArb, fc.integer({ min: 1, max: 4000 }), calendarPeriodArb, (a, laterByDays, period) => {
        const b = new Date(a.getTime() + laterByDays * DAY_MS);
        expect(addPeriod(a, period).getTime()).toBeLessThanOrEqual(addPeriod(b, period).getTime());
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

const policy = (overrides: Partial<RetentionRules> = {}): RetentionRules => ({
  basis: 'CREATED_AT',
  retentionPeriod: { value: 2, unit: 'YEARS' },
  action: 'DELETE',
  actionPeriod: { value: 30, unit: 'DAYS' },
  ...overrides,
});
const record = { createdAt: at('2024-02-29T08:00:00Z'), updatedAt: at('2025-07-31T09:30:00Z') };

describe('computeRecordDates', () => {
  it('CREATED_AT: retention ends basis + period; deletion follows after the action period', () => {
    const dates = computeRecordDates(record, policy());
    expect(iso(dates.retentionEndsAt)).toBe('2026-02-28T08:00:00.000Z');
    expect(iso(dates.deletesAt)).toBe('2026-03-30T08:00:00.000Z');
  });

  it('UPDATED_AT uses the last update', () => {
    const dates = computeRecordDates(record, policy({ basis: 'UPDATED_AT', retentionPeriod: { value: 7, unit: 'MONTHS' } }));
    expect(iso(dates.retentionEndsAt)).toBe('2026-02-28T09:30:00.000Z');
    expect(iso(dates.deletesAt)).toBe('2026-03-30T09:30:00.000Z');
  });

  it('DELETE with actionPeriod 0 deletes at the retention date', () => {
    const dates = computeRecordDates(record, policy({ actionPeriod: { value: 0, unit: 'DAYS' } }));
    expect(dates.deletesAt.getTime()).toBe(dates.retentionEndsAt.getTime());
  });

  it('MASK keeps the masked record for the action period', () => {
    const dates = computeRecordDates(record, policy({ action: 'MASK', actionPeriod: { value: 1, unit: 'MONTHS' } }));
    expect(iso(dates.retentionEndsAt)).toBe('2026-02-28T08:00:00.000Z');
    expect(iso(dates.deletesAt)).toBe('2026-03-28T08:00:00.000Z');
  });

  it('property: deletesAt = addPeriod(retentionEndsAt, actionPeriod) ≥ retentionEndsAt ≥ basis', () => {
    fc.assert(
      fc.property(anyDateArb, anyDateArb, fc.constantFrom('CREATED_AT' as const, 'UPDATED_AT' as const), periodArb, periodArb, (createdAt, updatedAt, basis, retentionPeriod, actionPeriod) => {
        const rules = policy({ basis, retentionPeriod, actionPeriod });
        const dates = computeRecordDates({ createdAt, updatedAt }, rules);
        const basisDate = basis === 'CREATED_AT' ? createdAt : updatedAt;
        expect(dates.retentionEndsAt).toEqual(addPeriod(basisDate, retentionPeriod));
        expect(dates.deletesAt).toEqual(addPeriod(dates.retentionEndsAt, actionPeriod));
        expect(dates.retentionEndsAt.getTime()).toBeGreaterThanOrEqual(basisDate.getTime());
        expect(dates.deletesAt.getTime()).toBeGreaterThanOrEqual(dates.retentionEndsAt.getTime());
      }),
      { numRuns: 300 },
    );
  });
});

describe('moveRetentionDate', () => {
  it('moves the deletion date with the retention date', () => {
    const moved = moveRetentionDate(at('2027-01-31T00:00:00Z'), policy({ actionPeriod: { value: 1, unit: 'MONTHS' } }));
    expect(iso(moved.retentionEndsAt)).toBe('2027-01-31T00:00:00.000Z');
    expect(iso(moved.deletesAt)).toBe('2027-02-28T00:00:00.000Z');
  });

  it('returns a copy, not the caller’s Date', () => {
    const chosen = at('2027-01-31T00:00:00Z');
    const moved = moveRetentionDate(chosen, policy());
    expect(moved.retentionEndsAt).not.toBe(chosen);
    expect(moved.retentionEndsAt).toEqual(chosen);
  });

  it('rejects an invalid date', () => {
    expect(() => moveRetentionDate(new Date('nope'), policy())).toThrow(/retentionEndsAt/);
  });
});

describe('periodToPgInterval', () => {
  it.each<[Period, string]>([
    [{ value: 2, unit: 'YEARS' }, '2 years'],
    [{ value: 1, unit: 'YEARS' }, '1 year'],
    [{ value: 6, unit: 'MONTHS' }, '6 months'],
    [{ value: 1, unit: 'MONTHS' }, '1 month'],
    [{ value: 3, unit: 'WEEKS' }, '3 weeks'],
    [{ value: 0, unit: 'DAYS' }, '0 days'],
    [{ value: 1, unit: 'DAYS' }, '1 day'],
    [{ value: 1000, unit: 'DAYS' }, '1000 days'],
  ])('%o → %s', (period, expected) => {
    expect(periodToPgInterval(period)).toBe(expected);
  });

  it('refuses anything that is not a clean period (it ends up in SQL)', () => {
    expect(() => periodToPgInterval({ value: 1.5, unit: 'DAYS' })).toThrow(RangeError);
    expect(() => periodToPgInterval({ value: -2, unit: 'DAYS' })).toThrow(RangeError);
    expect(() => periodToPgInterval({ value: 1, unit: "DAYS'; drop table leads; --" } as unknown as Period)).toThrow(
      RangeError,
    );
  });
});

describe('validatePolicyInput', () => {
  const valid: RetentionPolicyInput = {
    module: 'LEADS',
    enabled: true,
    retentionPeriod: { value: 2, unit: 'YEARS' },
    action: 'MASK',
    actionPeriod: { value: 30, unit: 'DAYS' },
  };
  const problem = (overrides: Partial<RetentionPolicyInput>): { field: string; message: string } | 'ok' => {
    const result = validatePolicyInput({ ...valid, ...overrides });
    return result.ok ? 'ok' : { field: result.field, message: result.message };
  };

  it('accepts a valid policy and defaults basis to CREATED_AT', () => {
    expect(validatePolicyInput(valid)).toEqual({
      ok: true,
      policy: {
        module: 'LEADS',
        enabled: true,
        basis: 'CREATED_AT',
        retentionPeriod: { value: 2, unit: 'YEARS' },
        action: 'MASK',
        actionPeriod: { value: 30, unit: 'DAYS' },
      },
    });
    const updated = validatePolicyInput({ ...valid, basis: 'UPDATED_AT', module: 'CONTACTS' });
    expect(updated.ok && [updated.policy.basis, updated.policy.module]).toEqual(['UPDATED_AT', 'CONTACTS']);
  });

  it('the rule as a separate part fits badInput(field, rule)', () => {
    expect(validatePolicyInput({ ...valid, module: 'DEALS' })).toEqual({
      ok: false,
      field: 'module',
      rule: 'must be LEADS or CONTACTS',
      message: 'module must be LEADS or CONTACTS',
    });
  });

  it.each<[Partial<RetentionPolicyInput>, string, string]>([
    [{ module: 'ACCOUNTS' }, 'module', 'module must be LEADS or CONTACTS'],
    [{ enabled: 'yes' as unknown as boolean }, 'enabled', 'enabled must be true or false'],
    [{ basis: 'DELETED_AT' }, 'basis', 'basis must be CREATED_AT or UPDATED_AT'],
    [{ retentionPeriod: { value: 0, unit: 'DAYS' } }, 'retentionPeriod.value', 'retentionPeriod.value must be an integer between 1 and 1000'],
    [{ retentionPeriod: { value: 1001, unit: 'DAYS' } }, 'retentionPeriod.value', 'retentionPeriod.value must be an integer between 1 and 1000'],
    [{ retentionPeriod: { value: 2.5, unit: 'YEARS' } }, 'retentionPeriod.value', 'retentionPeriod.value must be an integer between 1 and 1000'],
    [{ retentionPeriod: { value: 2, unit: 'DECADES' } }, 'retentionPeriod.unit', 'retentionPeriod.unit must be one of DAYS, WEEKS, MONTHS, YEARS'],
    [{ retentionPeriod: null as unknown as RetentionPolicyInput['retentionPeriod'] }, 'retentionPeriod', 'retentionPeriod is required'],
    [{ action: 'ARCHIVE' }, 'action', 'action must be MASK or DELETE'],
    [{ actionPeriod: { value: -1, unit: 'DAYS' } }, 'actionPeriod.value', 'actionPeriod.value must be an integer between 0 and 1000'],
    [{ actionPeriod: { value: 1001, unit: 'WEEKS' } }, 'actionPeriod.value', 'actionPeriod.value must be an integer between 0 and 1000'],
    [{ actionPeriod: { value: 1, unit: 'HOURS' } }, 'actionPeriod.unit', 'actionPeriod.unit must be one of DAYS, WEEKS, MONTHS, YEARS'],
    [{ action: 'MASK', actionPeriod: { value: 0, unit: 'DAYS' } }, 'actionPeriod', 'actionPeriod must be at least 1 day for MASK'],
    [{ action: 'MASK', actionPeriod: { value: 0, unit: 'YEARS' } }, 'actionPeriod', 'actionPeriod must be at least 1 day for MASK'],
  ])('%o → %s', (overrides, field, message) => {
    expect(problem(overrides)).toEqual({ field, message });
  });

  it('DELETE may act at once (actionPeriod 0); MASK accepts 1 of any unit', () => {
    expect(problem({ action: 'DELETE', actionPeriod: { value: 0, unit: 'DAYS' } })).toBe('ok');
    for (const unit of PERIOD_UNITS) expect(problem({ action: 'MASK', actionPeriod: { value: 1, unit } })).toBe('ok');
  });

  it('reports only the first problem, in field order', () => {
    expect(problem({ module: 'DEALS', action: 'NOPE', retentionPeriod: { value: 0, unit: 'DAYS' } })).toEqual({
      field: 'module',
      message: 'module must be LEADS or CONTACTS',
    });
  });
});
