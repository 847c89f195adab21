/**
 * Auto-backup schedules (DESIGN.md "Backups"): WEEKLY on a weekday or MONTHLY on a day of the month, at `HH:MM`
 * in an IANA time zone. Pure: no clock, no I/O; the caller passes the instant to plan from.
 *
 * DST rules (the docs ask for "DST-correct"; these are the choices made here):
 * - A local time that does not exist (spring-forward gap, e.g. 02:30 in New York on 2026-03-08) runs at the first
 *   valid instant after the gap, i.e. at the transition itself (03:00 local). We do not shift by the gap length
 *   (luxon's default gives 03:30): "the end of the gap" is the closest a clock on the wall gets to 02:30.
 * - A local time that occurs twice (fall-back) runs once, at the first (earlier) instant. Luxon's default picks
 *   the later one, so both cases are resolved here rather than by `DateTime.fromObject`.
 */
import { IANAZone } from 'luxon';
import {
  addDays,
  addMonths,
  daysInMonth,
  localDateAt,
  resolveLocalTime,
  wallClockMs,
  weekdayOf,
  type LocalDate,
} from './schedule-calendar.ts';

export const WEEKDAYS = [
  'MONDAY',
  'TUESDAY',
  'WEDNESDAY',
  'THURSDAY',
  'FRIDAY',
  'SATURDAY',
  'SUNDAY',
] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const BACKUP_FREQUENCIES = ['WEEKLY', 'MONTHLY'] as const;
export type BackupFrequency = (typeof BACKUP_FREQUENCIES)[number];

interface ScheduleTime {
  /** `HH:MM`, 24-hour, 00:00–23:59. */
  timeOfDay: string;
  /** IANA time zone name, e.g. `Asia/Singapore`. */
  timezone: string;
}
export interface WeeklySchedule extends ScheduleTime {
  frequency: 'WEEKLY';
  dayOfWeek: Weekday;
  dayOfMonth?: null;
}
export interface MonthlySchedule extends ScheduleTime {
  frequency: 'MONTHLY';
  /** 1..31; a month without that day runs on its last day. */
  dayOfMonth: number;
  dayOfWeek?: null;
}
/** A valid schedule (build one with `parseSchedule`). */
export type BackupSchedule = WeeklySchedule | MonthlySchedule;

/** What a client sends (GraphQL `AutoBackupInput`, or a stored settings row); nothing is trusted yet. */
export interface BackupScheduleInput {
  frequency: string;
  dayOfWeek?: string | null;
  dayOfMonth?: number | null;
  timeOfDay: string;
  /** When absent, `defaultTimezone` of `parseSchedule` (the organization's) applies. */
  timezone?: string | null;
}

export interface ScheduleProblem {
  field: string;
  /** The rule alone, e.g. `must be HH:MM (00:00–23:59)`; fits `badInput(field, rule)`. */
  rule: string;
  /** Field and rule, e.g. `timeOfDay must be HH:MM (00:00–23:59)`. */
  message: string;
}

export type ParseScheduleResult =
  | { ok: true; schedule: BackupSchedule }
  | { ok: false; field: string; rule: string; message: string };

export interface ParseScheduleOptions {
  /** Used when the input has no timezone (API.md: "default: the organization's timezone"). */
  defaultTimezone?: string;
}

const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/;

// ---------------------------------------------------------------------------------------------------------------
// Validation

/** Every problem of the input, in field order; an empty list means valid. */
export function validateSchedule(
  input: BackupScheduleInput,
  options: ParseScheduleOptions = {},
): ScheduleProblem[] {
  return [
    ...frequencyProblems(input),
    ...checkTimeOfDay(input.timeOfDay),
    ...checkTimezone(input.timezone ?? options.defaultTimezone),
  ];
}

/** The schedule, or the first problem (the GraphQL layer turns it into BAD_USER_INPUT). */
export function parseSchedule(
  input: BackupScheduleInput,
  options: ParseScheduleOptions = {},
): ParseScheduleResult {
  const [problem] = validateSchedule(input, options);
  if (problem) return { ok: false, ...problem };
  const timeOfDay = input.timeOfDay;
  const timezone = canonicalZoneName((input.timezone ?? options.defaultTimezone) as string);
  const schedule: BackupSchedule =
    input.frequency === 'WEEKLY'
      ? { frequency: 'WEEKLY', dayOfWeek: input.dayOfWeek as Weekday, timeOfDay, timezone }
      : { frequency: 'MONTHLY', dayOfMonth: input.dayOfMonth as number, timeOfDay, timezone };
  return { ok: true, schedule };
}

/** True when `name` is an IANA zone name that this runtime knows (offsets like `+05:00` are not names). */
export function isIanaTimeZone(name: string): boolean {
  // IANAZone.create caches per name, so this stays cheap when nextOccurrence re-checks its schedule on every call.
  return /^[A-Za-z]/.test(name) && IANAZone.create(name).isValid;
}

function problem(field: string, rule: string): ScheduleProblem {
  return { field, rule, message: `${field} ${rule}` };
}

function frequencyProblems(input: BackupScheduleInput): ScheduleProblem[] {
  if (input.frequency === 'WEEKLY') {
    return [...checkDayOfWeek(input.dayOfWeek), ...mustBeUnset('dayOfMonth', input.dayOfMonth, 'WEEKLY')];
  }
  if (input.frequency === 'MONTHLY') {
    return [...mustBeUnset('dayOfWeek', input.dayOfWeek, 'MONTHLY'), ...checkDayOfMonth(input.dayOfMonth)];
  }
  return [problem('frequency', 'must be WEEKLY or MONTHLY')];
}

// A schedule holds one kind of day; accepting both would store a contradiction that BackupSettings then shows.
function mustBeUnset(field: string, value: unknown, frequency: BackupFrequency): ScheduleProblem[] {
  return value === null || value === undefined ? [] : [problem(field, `must not be set for ${frequency}`)];
}

function checkDayOfWeek(value: unknown): ScheduleProblem[] {
  if (value === null || value === undefined) return [problem('dayOfWeek', 'is required for WEEKLY')];
  if (!(WEEKDAYS as readonly unknown[]).includes(value)) {
    return [problem('dayOfWeek', `must be one of ${WEEKDAYS.join(', ')}`)];
  }
  return [];
}

function checkDayOfMonth(value: unknown): ScheduleProblem[] {
  if (value === null || value === undefined) return [problem('dayOfMonth', 'is required for MONTHLY')];
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return [problem('dayOfMonth', 'must be an integer between 1 and 31')];
  }
  if (value < 1 || value > 31) return [problem('dayOfMonth', 'must be between 1 and 31')];
  return [];
}

function checkTimeOfDay(value: unknown): ScheduleProblem[] {
  if (typeof value === 'string' && TIME_OF_DAY.test(value)) return [];
  return [problem('timeOfDay', 'must be HH:MM (00:00–23:59)')];
}

function checkTimezone(value: unknown): ScheduleProblem[] {
  if (value === null || value === undefined) return [problem('timezone', 'is required')];
  if (typeof value === 'string' && isIanaTimeZone(value)) return [];
  return [problem('timezone', 'must be an IANA time zone name')];
}

/**
 * Fixes the letter case of a valid zone name (`america/new_york` → `America/New_York`) so that what is stored and
 * shown looks like what users know. Links are kept as given (`Asia/Kolkata` stays, though ICU says `Asia/Calcutta`).
 */
function canonicalZoneName(name: string): string {
  const resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  if (resolved.toLowerCase() === name.toLowerCase()) return resolved;
  const listed = Intl.supportedValuesOf('timeZone').find((z) => z.toLowerCase() === name.toLowerCase());
  return listed ?? name;
}

// ---------------------------------------------------------------------------------------------------------------
// Next occurrence

/**
 * The first run of `schedule` strictly after `after`. A schedule is valid by construction when it comes from
 * `parseSchedule`; anything else is a programming error and throws a RangeError.
 */
export function nextOccurrence(schedule: BackupSchedule, after: Date): Date {
  assertUsable(schedule, after);
  const zone = IANAZone.create(schedule.timezone);
  const afterMs = after.getTime();
  const minuteOfDay = parseMinuteOfDay(schedule.timeOfDay);
  // Candidates come in increasing local-date order, and resolving a local time is monotonic in it, so the first
  // candidate past `after` is the answer. Starting a day/month early costs nothing and covers gap edge cases.
  for (const date of candidateDates(schedule, localDateAt(zone, afterMs))) {
    const at = resolveLocalTime(zone, wallClockMs(date, minuteOfDay));
    if (at > afterMs) return new Date(at);
  }
  throw new Error(`no occurrence of ${scheduleLabel(schedule)} found after ${after.toISOString()}`);
}

function assertUsable(schedule: BackupSchedule, after: Date): void {
  if (!(after instanceof Date) || Number.isNaN(after.getTime())) {
    throw new RangeError('nextOccurrence: `after` must be a valid Date');
  }
  const [first] = validateSchedule(schedule);
  if (first) throw new RangeError(`nextOccurrence: invalid schedule: ${first.message}`);
}

function scheduleLabel(schedule: BackupSchedule): string {
  const day = schedule.frequency === 'WEEKLY' ? schedule.dayOfWeek : `day ${schedule.dayOfMonth}`;
  return `${schedule.frequency} ${day} ${schedule.timeOfDay} ${schedule.timezone}`;
}

function parseMinuteOfDay(timeOfDay: string): number {
  const [hours, minutes] = timeOfDay.split(':').map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
}

function* candidateDates(schedule: BackupSchedule, today: LocalDate): Generator<LocalDate> {
  if (schedule.frequency === 'WEEKLY') {
    const wanted = (WEEKDAYS.indexOf(schedule.dayOfWeek) + 1) % 7; // JS getUTCDay: 0 = Sunday
    for (let offset = -1; offset <= 15; offset += 1) {
      const date = addDays(today, offset);
      if (weekdayOf(date) === wanted) yield date;
    }
    return;
  }
  for (let offset = -1; offset <= 3; offset += 1) {
    const { year, month } = addMonths(today, offset);
    yield { year, month, day: Math.min(schedule.dayOfMonth, daysInMonth(year, month)) };
  }
}
