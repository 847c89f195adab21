import fc from 'fast-check';
import { DateTime, IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  type BackupSchedule,
  type BackupScheduleInput,
  type MonthlySchedule,
  type WeeklySchedule,
  isIanaTimeZone,
  nextOccurrence,
  parseSchedule,
  validateSchedule,
  WEEKDAYS,
  type Weekday,
} from '../../src/modules/backup/backup-schedule.ts';

const DAY_MS = 86_400_000;
const ZONES = [
  'Asia/Singapore',
  'Europe/London',
  'America/New_York',
  'Australia/Lord_Howe', // 30-minute DST shift
  'Pacific/Chatham', // +12:45 / +13:45, changes at 02:45 / 03:45
  'America/Sao_Paulo', // had DST until 2019
  'UTC',
] as const;

const weekly = (dayOfWeek: Weekday, timeOfDay: string, timezone: string): BackupSchedule => ({
  frequency: 'WEEKLY',
  dayOfWeek,
  timeOfDay,
  timezone,
});
const monthly = (dayOfMonth: number, timeOfDay: string, timezone: string): BackupSchedule => ({
  frequency: 'MONTHLY',
  dayOfMonth,
  timeOfDay,
  timezone,
});
const next = (schedule: BackupSchedule, after: string): string =>
  nextOccurrence(schedule, new Date(after)).toISOString();

describe('validateSchedule', () => {
  const valid: BackupScheduleInput = {
    frequency: 'WEEKLY',
    dayOfWeek: 'MONDAY',
    timeOfDay: '09:30',
    timezone: 'Asia/Singapore',
  };
  const messages = (input: Partial<BackupScheduleInput>): string[] =>
    validateSchedule({ ...valid, ...input } as BackupScheduleInput).map((p) => p.message);

  it('accepts a valid weekly and a valid monthly schedule', () => {
    expect(validateSchedule(valid)).toEqual([]);
    expect(
      validateSchedule({ frequency: 'MONTHLY', dayOfMonth: 31, timeOfDay: '00:00', timezone: 'UTC' }),
    ).toEqual([]);
  });

  it.each(['00:00', '23:59', '07:05', '12:00', '19:45'])('accepts timeOfDay %s', (timeOfDay) => {
    expect(messages({ timeOfDay })).toEqual([]);
  });

  it.each(['25:00', '7:5', '24:00', '07:5', '7:05', '12:60', '', ' 12:00', '12:00 ', '12-00', '1200', '12:00:00', '٠٩:٣٠'])(
    'rejects timeOfDay %j',
    (timeOfDay) => {
      expect(messages({ timeOfDay })).toEqual(['timeOfDay must be HH:MM (00:00–23:59)']);
    },
  );

  it.each(['Mars/Olympus', '+05:00', '-03:00', 'Not a zone', ''])('rejects timezone %j', (timezone) => {
    expect(messages({ timezone })).toEqual(['timezone must be an IANA time zone name']);
  });

  it('requires a timezone unless a default is given', () => {
    expect(messages({ timezone: null })).toEqual(['timezone is required']);
    expect(validateSchedule({ ...valid, timezone: null }, { defaultTimezone: 'Europe/London' })).toEqual([]);
  });

  it('requires the day that fits the frequency', () => {
    expect(messages({ dayOfWeek: undefined })).toEqual(['dayOfWeek is required for WEEKLY']);
    expect(messages({ frequency: 'MONTHLY', dayOfWeek: null })).toEqual(['dayOfMonth is required for MONTHLY']);
  });

  it('rejects the day that does not fit the frequency', () => {
    expect(messages({ dayOfMonth: 3 })).toEqual(['dayOfMonth must not be set for WEEKLY']);
    expect(messages({ frequency: 'MONTHLY', dayOfMonth: 3 })).toEqual(['dayOfWeek must not be set for MONTHLY']);
  });

  it.each([0, 32, -1, 100])('rejects dayOfMonth %d', (dayOfMonth) => {
    expect(messages({ frequency: 'MONTHLY', dayOfWeek: null, dayOfMonth })).toEqual([
      'dayOfMonth must be between 1 and 31',
    ]);
  });

  it.each([1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects non-integer dayOfMonth %d', (dayOfMonth) => {
    expect(messages({ frequency: 'MONTHLY', dayOfWeek: null, dayOfMonth })).toEqual([
      'dayOfMonth must be an integer between 1 and 31',
    ]);
  });

  it('rejects a dayOfMonth that is not a number', () => {
    const input = { frequency: 'MONTHLY', dayOfMonth: '5', timeOfDay: '10:00', timezone: 'UTC' };
    expect(validateSchedule(input as unknown as BackupScheduleInput)[0]?.field).toBe('dayOfMonth');
  });

  it('rejects unknown weekdays and frequencies', () => {
    expect(messages({ dayOfWeek: 'FUNDAY' })).toEqual([
      'dayOfWeek must be one of MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY',
    ]);
    expect(messages({ dayOfWeek: 'monday' })[0]).toMatch(/^dayOfWeek must be one of/);
    expect(messages({ frequency: 'DAILY' })).toEqual(['frequency must be WEEKLY or MONTHLY']);
  });

  it('lists every problem, in field order, each naming its field and rule', () => {
    const problems = validateSchedule({
      frequency: 'MONTHLY',
      dayOfMonth: 0,
      timeOfDay: '24:00',
      timezone: 'Mars/Olympus',
    });
    expect(problems).toEqual([
      { field: 'dayOfMonth', rule: 'must be between 1 and 31', message: 'dayOfMonth must be between 1 and 31' },
      { field: 'timeOfDay', rule: 'must be HH:MM (00:00–23:59)', message: 'timeOfDay must be HH:MM (00:00–23:59)' },
      {
        field: 'timezone',
        rule: 'must be an IANA time zone name',
        message: 'timezone must be an IANA time zone name',
      },
    ]);
  });
});

describe('parseSchedule', () => {
  it('returns the schedule with only the fields of its frequency', () => {
    expect(
      parseSchedule({ frequency: 'WEEKLY', dayOfWeek: 'FRIDAY', dayOfMonth: null, timeOfDay: '18:00', timezone: 'UTC' }),
    ).toEqual({
      ok: true,
      schedule: { frequency: 'WEEKLY', dayOfWeek: 'FRIDAY', timeOfDay: '18:00', timezone: 'UTC' },
    });
    expect(parseSchedule({ frequency: 'MONTHLY', dayOfMonth: 15, timeOfDay: '06:00', timezone: 'Asia/Tokyo' })).toEqual({
      ok: true,
      schedule: { frequency: 'MONTHLY', dayOfMonth: 15, timeOfDay: '06:00', timezone: 'Asia/Tokyo' },
    });
  });

  it('returns the first problem only', () => {
    expect(parseSchedule({ frequency: 'WEEKLY', timeOfDay: '7:5', timezone: 'Mars/Olympus' })).toEqual({
      ok: false,
      field: 'dayOfWeek',
      rule: 'is required for WEEKLY',
      message: 'dayOfWeek is required for WEEKLY',
    });
  });

  it('falls back to the default timezone, and an explicit one wins', () => {
    const input = { frequency: 'WEEKLY', dayOfWeek: 'MONDAY', timeOfDay: '08:00' };
    const withDefault = parseSchedule(input, { defaultTimezone: 'Europe/Paris' });
    expect(withDefault.ok && withDefault.schedule.timezone).toBe('Europe/Paris');
    const explicit = parseSchedule({ ...input, timezone: 'Asia/Singapore' }, { defaultTimezone: 'Europe/Paris' });
    expect(explicit.ok && explicit.schedule.timezone).toBe('Asia/Singapore');
  });

  it('fixes the letter case of zone names but keeps links as given', () => {
    const zoneOf = (timezone: string): string | false => {
      const result = parseSchedule({ frequency: 'WEEKLY', dayOfWeek: 'MONDAY', timeOfDay: '08:00', timezone });
      return result.ok && result.schedule.timezone;
    };
    expect(zoneOf('utc')).toBe('UTC');
    expect(zoneOf('america/new_york')).toBe('America/New_York');
    expect(zoneOf('Asia/Kolkata')).toBe('Asia/Kolkata');
    // a link that ICU does not list under its own name keeps the case it was given (it still works)
    expect(zoneOf('asia/kolkata')).toBe('asia/kolkata');
  });

  it('isIanaTimeZone knows names, not offsets', () => {
    expect(isIanaTimeZone('Pacific/Chatham')).toBe(true);
    expect(isIanaTimeZone('+05:00')).toBe(false);
    expect(isIanaTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('nextOccurrence: ordinary cases', () => {
  it('finds the next weekday at the local time (Singapore, UTC+8)', () => {
    // 2026-06-03 is a Wednesday.
    expect(next(weekly('FRIDAY', '09:30', 'Asia/Singapore'), '2026-06-03T00:00:00Z')).toBe('2026-06-05T01:30:00.000Z');
  });

  it('is strictly after: exactly at an occurrence gives the one a week later', () => {
    const schedule = weekly('FRIDAY', '09:30', 'Asia/Singapore');
    expect(next(schedule, '2026-06-05T01:30:00.000Z')).toBe('2026-06-12T01:30:00.000Z');
    expect(next(schedule, '2026-06-05T01:29:59.999Z')).toBe('2026-06-05T01:30:00.000Z');
  });

  it('runs later today when today is the day and the time is still ahead', () => {
    expect(next(weekly('WEDNESDAY', '23:59', 'UTC'), '2026-06-03T23:58:00Z')).toBe('2026-06-03T23:59:00.000Z');
  });

  it('uses the local date, not the UTC date (Chatham is already on Thursday)', () => {
    // 2026-06-03T20:00Z is Thursday 08:45 in Chatham (UTC+12:45, winter).
    expect(next(weekly('THURSDAY', '09:00', 'Pacific/Chatham'), '2026-06-03T20:00:00Z')).toBe(
      '2026-06-03T20:15:00.000Z',
    );
  });

  it('crosses a year end (monthly and weekly)', () => {
    expect(next(monthly(1, '00:00', 'UTC'), '2026-12-15T00:00:00Z')).toBe('2027-01-01T00:00:00.000Z');
    expect(next(weekly('FRIDAY', '00:00', 'UTC'), '2026-12-31T12:00:00Z')).toBe('2027-01-01T00:00:00.000Z');
  });

  it('finds this month when the day is still ahead, else next month', () => {
    const schedule = monthly(15, '12:00', 'Europe/London');
    expect(next(schedule, '2026-07-10T00:00:00Z')).toBe('2026-07-15T11:00:00.000Z');
    expect(next(schedule, '2026-07-15T11:00:00Z')).toBe('2026-08-15T11:00:00.000Z');
    expect(next(schedule, '2026-12-15T12:00:00Z')).toBe('2027-01-15T12:00:00.000Z');
  });

  it('throws on an invalid schedule or date (programming errors, never guessed around)', () => {
    expect(() => nextOccurrence(weekly('MONDAY', '24:00', 'UTC'), new Date())).toThrow(/timeOfDay/);
    expect(() => nextOccurrence(weekly('MONDAY', '10:00', 'Mars/Olympus'), new Date())).toThrow(/timezone/);
    expect(() => nextOccurrence(monthly(32, '10:00', 'UTC'), new Date())).toThrow(/dayOfMonth/);
    expect(() => nextOccurrence(weekly('MONDAY', '10:00', 'UTC'), new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('nextOccurrence: short months', () => {
  it.each([
    ['2027-02-01T00:00:00Z', '2027-02-28T01:00:00.000Z'], // 2027 is not a leap year
    ['2028-02-01T00:00:00Z', '2028-02-29T01:00:00.000Z'], // 2028 is
    ['2026-04-01T00:00:00Z', '2026-04-30T01:00:00.000Z'], // April has 30 days
    ['2026-01-31T01:00:00Z', '2026-02-28T01:00:00.000Z'], // right after January's run
    ['2026-02-28T01:00:00Z', '2026-03-31T01:00:00.000Z'], // March has its 31st again
  ])('day 31 at 09:00 Singapore after %s runs at %s', (after, expected) => {
    expect(next(monthly(31, '09:00', 'Asia/Singapore'), after)).toBe(expected);
  });

  it('day 29 and 30 clamp in February', () => {
    expect(next(monthly(29, '09:00', 'UTC'), '2027-02-01T00:00:00Z')).toBe('2027-02-28T09:00:00.000Z');
    expect(next(monthly(29, '09:00', 'UTC'), '2028-02-01T00:00:00Z')).toBe('2028-02-29T09:00:00.000Z');
    expect(next(monthly(30, '09:00', 'UTC'), '2028-02-01T00:00:00Z')).toBe('2028-02-29T09:00:00.000Z');
  });

  it('a clamped run that has passed gives the next month', () => {
    expect(next(monthly(31, '09:00', 'UTC'), '2027-02-28T09:00:00Z')).toBe('2027-03-31T09:00:00.000Z');
  });
});

describe('nextOccurrence: DST', () => {
  it('Europe/London spring forward 2026-03-29: 01:30 does not exist, runs at 02:00 BST (01:00Z)', () => {
    const schedule = weekly('SUNDAY', '01:30', 'Europe/London');
    expect(next(schedule, '2026-03-28T12:00:00Z')).toBe('2026-03-29T01:00:00.000Z');
    // and the week after it is 01:30 BST again
    expect(next(schedule, '2026-03-29T01:00:00Z')).toBe('2026-04-05T00:30:00.000Z');
  });

  it('Europe/London fall back 2026-10-25: 01:30 happens twice, runs once at the first (01:30 BST = 00:30Z)', () => {
    const schedule = weekly('SUNDAY', '01:30', 'Europe/London');
    expect(next(schedule, '2026-10-24T12:00:00Z')).toBe('2026-10-25T00:30:00.000Z');
    // not again at the second 01:30 (01:30Z): the next run is a week later
    expect(next(schedule, '2026-10-25T00:30:00Z')).toBe('2026-11-01T01:30:00.000Z');
    expect(next(schedule, '2026-10-25T01:00:00Z')).toBe('2026-11-01T01:30:00.000Z');
  });

  it('America/New_York spring forward 2026-03-08: 02:30 runs at 03:00 EDT (07:00Z)', () => {
    expect(next(weekly('SUNDAY', '02:30', 'America/New_York'), '2026-03-07T00:00:00Z')).toBe(
      '2026-03-08T07:00:00.000Z',
    );
    expect(next(monthly(8, '02:30', 'America/New_York'), '2026-03-01T00:00:00Z')).toBe('2026-03-08T07:00:00.000Z');
  });

  it('America/New_York fall back 2026-11-01: 01:30 runs at the EDT one (05:30Z)', () => {
    expect(next(weekly('SUNDAY', '01:30', 'America/New_York'), '2026-10-31T00:00:00Z')).toBe(
      '2026-11-01T05:30:00.000Z',
    );
  });

  it('times next to the gap are untouched (01:59 and 03:00 in New York)', () => {
    expect(next(weekly('SUNDAY', '01:59', 'America/New_York'), '2026-03-07T00:00:00Z')).toBe(
      '2026-03-08T06:59:00.000Z',
    );
    expect(next(weekly('SUNDAY', '03:00', 'America/New_York'), '2026-03-07T00:00:00Z')).toBe(
      '2026-03-08T07:00:00.000Z',
    );
  });

  it('Australia/Lord_Howe: a 30-minute gap (02:00 → 02:30) and a 30-minute overlap', () => {
    // 2026-10-04: 02:15 does not exist; 02:30 +11:00 = 15:30Z the day before.
    expect(next(weekly('SUNDAY', '02:15', 'Australia/Lord_Howe'), '2026-10-01T00:00:00Z')).toBe(
      '2026-10-03T15:30:00.000Z',
    );
    // 2026-04-05: 01:45 happens at +11:00 (14:45Z) and again at +10:30 (15:15Z); the first one wins.
    expect(next(weekly('SUNDAY', '01:45', 'Australia/Lord_Howe'), '2026-04-01T00:00:00Z')).toBe(
      '2026-04-04T14:45:00.000Z',
    );
  });

  it('Pacific/Chatham: 03:00 on 2026-09-27 does not exist (02:45 → 03:45), runs at 03:45 +13:45', () => {
    expect(next(weekly('SUNDAY', '03:00', 'Pacific/Chatham'), '2026-09-20T00:00:00Z')).toBe(
      '2026-09-26T14:00:00.000Z',
    );
  });

  it('America/Sao_Paulo 2018: DST began at midnight, so 00:30 ran at 01:00', () => {
    // 2018-11-04 00:00 -03:00 → 01:00 -02:00.
    expect(next(weekly('SUNDAY', '00:30', 'America/Sao_Paulo'), '2018-11-01T00:00:00Z')).toBe(
      '2018-11-04T03:00:00.000Z',
    );
  });

  it('Pacific/Apia skipped 2011-12-30 entirely: that Friday runs at the first instant after it', () => {
    // Apia went from 2011-12-29 23:59:59 -10:00 to 2011-12-31 00:00 +14:00 (= 2011-12-30T10:00Z).
    expect(next(weekly('FRIDAY', '10:00', 'Pacific/Apia'), '2011-12-28T00:00:00Z')).toBe('2011-12-30T10:00:00.000Z');
    expect(next(weekly('FRIDAY', '10:00', 'Pacific/Apia'), '2011-12-30T10:00:00Z')).toBe('2012-01-05T20:00:00.000Z');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties

const pad = (n: number): string => String(n).padStart(2, '0');
const timeOfDayArb = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${pad(h)}:${pad(m)}`),
  // times that fall in, or next to, the DST changes of the zones under test
  fc.constantFrom('00:00', '00:30', '01:00', '01:30', '01:45', '02:00', '02:15', '02:30', '02:45', '03:00', '03:15', '03:45', '23:59'),
);
const zoneArb = fc.constantFrom(...ZONES);
const scheduleArb: fc.Arbitrary<BackupSchedule> = fc.oneof(
  fc.record({
    frequency: fc.constant('WEEKLY' as const),
    dayOfWeek: fc.constantFrom(...WEEKDAYS),
    timeOfDay: timeOfDayArb,
    timezone: zoneArb,
  }),
  fc.record({
    frequency: fc.constant('MONTHLY' as const),
    dayOfMonth: fc.oneof(fc.integer({ min: 1, max: 31 }), fc.constantFrom(28, 29, 30, 31)),
    timeOfDay: timeOfDayArb,
    timezone: zoneArb,
  }),
);
// Days on which the zones above change their clocks (2026), to land near transitions often.
const TRANSITIONS = [
  '2026-03-08', '2026-11-01', // New York
  '2026-03-29', '2026-10-25', // London
  '2026-04-05', '2026-10-04', // Lord Howe
  '2026-09-27', // Chatham (and 2026-04-05)
  '2018-11-04', '2019-02-17', // Sao Paulo's last DST
].map((day) => Date.parse(`${day}T00:00:00Z`));
const afterArb = fc.oneof(
  fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2040-12-31T00:00:00Z'), noInvalidDate: true }),
  fc
    .tuple(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -40 * DAY_MS, max: 2 * DAY_MS }))
    .map(([day, delta]) => new Date(day + delta)),
);

const PROPERTY_RUNS = { numRuns: 300 };

/**
 * Clock changes with their exact answers, so that gaps and overlaps are exercised on every run (random dates
 * almost never land on them). Minutes are local minutes of the day; [from, to) is the skipped or repeated hour.
 */
type DstEdge =
  | { kind: 'gap'; zone: string; date: string; from: number; to: number; transition: string }
  | { kind: 'overlap'; zone: string; date: string; from: number; to: number; offsetBefore: number };
const DST_EDGES: DstEdge[] = [
  { kind: 'gap', zone: 'America/New_York', date: '2026-03-08', from: 120, to: 180, transition: '2026-03-08T07:00:00.000Z' },
  { kind: 'overlap', zone: 'America/New_York', date: '2026-11-01', from: 60, to: 120, offsetBefore: -240 },
  { kind: 'gap', zone: 'Europe/London', date: '2026-03-29', from: 60, to: 120, transition: '2026-03-29T01:00:00.000Z' },
  { kind: 'overlap', zone: 'Europe/London', date: '2026-10-25', from: 60, to: 120, offsetBefore: 60 },
  { kind: 'gap', zone: 'Australia/Lord_Howe', date: '2026-10-04', from: 120, to: 150, transition: '2026-10-03T15:30:00.000Z' },
  { kind: 'overlap', zone: 'Australia/Lord_Howe', date: '2026-04-05', from: 90, to: 120, offsetBefore: 660 },
  { kind: 'gap', zone: 'Pacific/Chatham', date: '2026-09-27', from: 165, to: 225, transition: '2026-09-26T14:00:00.000Z' },
  { kind: 'overlap', zone: 'Pacific/Chatham', date: '2026-04-05', from: 165, to: 225, offsetBefore: 825 },
  { kind: 'gap', zone: 'America/Sao_Paulo', date: '2018-11-04', from: 0, to: 60, transition: '2018-11-04T03:00:00.000Z' },
  { kind: 'overlap', zone: 'America/Sao_Paulo', date: '2019-02-16', from: 1380, to: 1440, offsetBefore: -120 },
];
const dstEdgeArb = fc
  .constantFrom(...DST_EDGES)
  .chain((edge) =>
    fc.record({
      edge: fc.constant(edge),
      minute: fc.integer({ min: Math.max(0, edge.from - 30), max: Math.min(1439, edge.to + 29) }),
      monthly: fc.boolean(),
      // 1 to 5 days before the edge's UTC midnight: in every zone above that is within the 6 local days before
      // the edge date, so the next matching day (weekly or monthly) is the edge date itself
      before: fc.integer({ min: DAY_MS, max: 5 * DAY_MS }),
    }),
  )
  .map(({ edge, minute, monthly, before }) => {
    const midnight = new Date(`${edge.date}T00:00:00Z`);
    const timeOfDay = `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}`;
    const schedule: BackupSchedule = monthly
      ? { frequency: 'MONTHLY', dayOfMonth: midnight.getUTCDate(), timeOfDay, timezone: edge.zone }
      : { frequency: 'WEEKLY', dayOfWeek: WEEKDAYS[(midnight.getUTCDay() + 6) % 7]!, timeOfDay, timezone: edge.zone };
    return { edge, schedule, minute, after: new Date(midnight.getTime() - before) };
  });

/** Random schedules and dates, half of the time at a known DST edge. */
const caseArb: fc.Arbitrary<[BackupSchedule, Date]> = fc.oneof(
  fc.tuple(scheduleArb, afterArb),
  dstEdgeArb.map(({ schedule, after }): [BackupSchedule, Date] => [schedule, after]),
);

const weeklyEdgeArb = dstEdgeArb
  .map(({ schedule, after }) => [schedule, after] as const)
  .filter((c): c is readonly [WeeklySchedule, Date] => c[0].frequency === 'WEEKLY');
const monthlyEdgeArb = dstEdgeArb
  .map(({ schedule, after }) => [schedule, after] as const)
  .filter((c): c is readonly [MonthlySchedule, Date] => c[0].frequency === 'MONTHLY');

/** The local date-time the zone's clocks show at `at`, to the minute, as comparable text. */
const wallText = (at: number, zone: string): string =>
  DateTime.fromMillis(at, { zone }).toFormat("yyyy-MM-dd'T'HH:mm");

function expectedLocalDay(schedule: BackupSchedule, local: DateTime): boolean {
  if (schedule.frequency === 'WEEKLY') return WEEKDAYS[local.weekday - 1] === schedule.dayOfWeek;
  return local.day === Math.min(schedule.dayOfMonth, local.daysInMonth ?? 31);
}

/** The requested wall time does not exist that day, and `at` is the transition that skipped it. */
function isEndOfGap(schedule: BackupSchedule, at: number): boolean {
  const zone = IANAZone.create(schedule.timezone);
  const before = DateTime.fromMillis(at - 1, { zone: schedule.timezone });
  const local = DateTime.fromMillis(at, { zone: schedule.timezone });
  const wantedText = `${local.toFormat('yyyy-MM-dd')} ${schedule.timeOfDay}`;
  return (
    zone.offset(at - 1) < zone.offset(at) &&
    before.toFormat('yyyy-MM-dd HH:mm') < wantedText &&
    local.toFormat('yyyy-MM-dd HH:mm') > wantedText
  );
}

describe('nextOccurrence: properties', () => {
  it('is strictly after `after`, on the right local day, at HH:MM or at the end of a DST gap', () => {
    fc.assert(
      fc.property(caseArb, ([schedule, after]) => {
        const at = nextOccurrence(schedule, after).getTime();
        expect(at).toBeGreaterThan(after.getTime());
        const local = DateTime.fromMillis(at, { zone: schedule.timezone });
        expect(expectedLocalDay(schedule, local)).toBe(true);
        if (local.toFormat('HH:mm') !== schedule.timeOfDay) expect(isEndOfGap(schedule, at)).toBe(true);
      }),
      PROPERTY_RUNS,
    );
  });

  it('at known DST edges: in a gap it runs at the transition, in an overlap at the first instant', () => {
    fc.assert(
      fc.property(dstEdgeArb, ({ edge, schedule, after, minute }) => {
        const at = nextOccurrence(schedule, after).getTime();
        const wall = Date.parse(`${edge.date}T00:00:00Z`) + minute * 60_000;
        const inside = minute >= edge.from && minute < edge.to;
        if (!inside) expect(wallText(at, edge.zone)).toBe(wallText(wall, 'UTC'));
        else if (edge.kind === 'gap') expect(new Date(at).toISOString()).toBe(edge.transition);
        else expect(at).toBe(wall - edge.offsetBefore * 60_000);
      }),
      PROPERTY_RUNS,
    );
  });

  it('in a fall-back overlap it is the first instant that shows HH:MM', () => {
    fc.assert(
      fc.property(caseArb, ([schedule, after]) => {
        const at = nextOccurrence(schedule, after).getTime();
        for (const minutes of [30, 60, 120]) {
          const earlier = at - minutes * 60_000;
          // an earlier instant with the same wall clock would have been the first run
          if (earlier > after.getTime()) {
            expect(wallText(earlier, schedule.timezone)).not.toBe(wallText(at, schedule.timezone));
          }
        }
      }),
      PROPERTY_RUNS,
    );
  });

  it('skips no occurrence: the previous occurrence is not after `after`', () => {
    fc.assert(
      fc.property(caseArb, ([schedule, after]) => {
        const result = nextOccurrence(schedule, after);
        // Walk up from a point safely before the previous occurrence to the one just before `result`.
        let previous = nextOccurrence(schedule, new Date(result.getTime() - 33 * DAY_MS));
        for (let following = nextOccurrence(schedule, previous); following < result; ) {
          previous = following;
          following = nextOccurrence(schedule, previous);
        }
        expect(previous.getTime()).toBeLessThan(result.getTime());
        expect(previous.getTime()).toBeLessThanOrEqual(after.getTime());
        expect(nextOccurrence(schedule, previous).getTime()).toBe(result.getTime());
        // and any instant between `after` and the result leads to the same result
        expect(nextOccurrence(schedule, new Date(result.getTime() - 1)).getTime()).toBe(result.getTime());
      }),
      { numRuns: 200 },
    );
  });

  it('weekly: repeated application gives strictly increasing times about 7 days apart', () => {
    const weeklyArb = fc.record({
      frequency: fc.constant('WEEKLY' as const),
      dayOfWeek: fc.constantFrom(...WEEKDAYS),
      timeOfDay: timeOfDayArb,
      timezone: zoneArb,
    });
    fc.assert(
      fc.property(fc.oneof(fc.tuple(weeklyArb, afterArb), weeklyEdgeArb), ([schedule, after]) => {
        let at = nextOccurrence(schedule, after);
        for (let i = 0; i < 8; i += 1) {
          const following = nextOccurrence(schedule, at);
          const days = (following.getTime() - at.getTime()) / DAY_MS;
          expect(days).toBeGreaterThanOrEqual(6.9);
          expect(days).toBeLessThanOrEqual(7.1);
          at = following;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('monthly: repeated application visits consecutive months, each on its (clamped) day', () => {
    const monthlyArb = fc.record({
      frequency: fc.constant('MONTHLY' as const),
      dayOfMonth: fc.integer({ min: 1, max: 31 }),
      timeOfDay: timeOfDayArb,
      timezone: zoneArb,
    });
    fc.assert(
      fc.property(fc.oneof(fc.tuple(monthlyArb, afterArb), monthlyEdgeArb), ([schedule, after]) => {
        let at = nextOccurrence(schedule, after);
        for (let i = 0; i < 13; i += 1) {
          const following = nextOccurrence(schedule, at);
          expect(following.getTime()).toBeGreaterThan(at.getTime());
          const [a, b] = [at, following].map((d) => DateTime.fromJSDate(d, { zone: schedule.timezone }));
          expect(b!.startOf('month').diff(a!.startOf('month'), 'months').months).toBe(1);
          expect(b!.day).toBe(Math.min(schedule.dayOfMonth, b!.daysInMonth ?? 31));
          at = following;
        }
      }),
      { numRuns: 100 },
    );
  });
});
