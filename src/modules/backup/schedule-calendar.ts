/**
 * Calendar and time-zone arithmetic for schedules (backup-schedule.ts): local dates, and the instant at which a
 * zone's clocks show a given local time, DST gaps and overlaps included.
 */
import type { IANAZone } from 'luxon';

const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

/** A date on a wall calendar, in no particular zone. */
export interface LocalDate {
  year: number;
  /** 1..12 */
  month: number;
  day: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Calendar arithmetic on local dates, done on a UTC Date so no zone can interfere. setUTCFullYear (rather than
// Date.UTC) keeps years below 100 from being read as 19xx.

function utcMs(year: number, month: number, day: number, minuteOfDay = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime() + minuteOfDay * MS_PER_MINUTE;
}

function fromUtcMs(ms: number): LocalDate {
  const date = new Date(ms);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

export function addDays(date: LocalDate, days: number): LocalDate {
  return fromUtcMs(utcMs(date.year, date.month, date.day) + days * MS_PER_DAY);
}

export function addMonths(date: LocalDate, months: number): { year: number; month: number } {
  const index = date.year * 12 + (date.month - 1) + months;
  return { year: Math.floor(index / 12), month: (index % 12) + 1 };
}

export function daysInMonth(year: number, month: number): number {
  return new Date(utcMs(year, month + 1, 0)).getUTCDate();
}

export function weekdayOf(date: LocalDate): number {
  return new Date(utcMs(date.year, date.month, date.day)).getUTCDay();
}

export function wallClockMs(date: LocalDate, minuteOfDay: number): number {
  return utcMs(date.year, date.month, date.day, minuteOfDay);
}

// ---------------------------------------------------------------------------------------------------------------
// Zone arithmetic. "Wall clock ms" = a local date-time written as if it were UTC; instant = wall clock − offset.

function offsetMs(zone: IANAZone, instant: number): number {
  const minutes = zone.offset(instant);
  if (Number.isNaN(minutes)) throw new RangeError(`no UTC offset for ${zone.name} at ${instant}`);
  return Math.round(minutes * MS_PER_MINUTE);
}

function wallClockAt(zone: IANAZone, instant: number): number {
  return instant + offsetMs(zone, instant);
}

export function localDateAt(zone: IANAZone, instant: number): LocalDate {
  return fromUtcMs(wallClockAt(zone, instant));
}

/**
 * The instant at which the zone's clocks show `wall`: the earlier one when they show it twice (fall-back), the
 * end of the gap when they never show it (spring-forward).
 */
export function resolveLocalTime(zone: IANAZone, wall: number): number {
  // The offsets in force a day either side cover every transition near `wall` (zones change at most once a day).
  const offsets = new Set([wall - MS_PER_DAY, wall, wall + MS_PER_DAY].map((probe) => offsetMs(zone, probe)));
  const matches = [...offsets].map((offset) => wall - offset).filter((at) => wallClockAt(zone, at) === wall);
  if (matches.length > 0) return Math.min(...matches);
  return endOfGap(zone, wall);
}

/**
 * The first instant whose wall clock is past `wall`, i.e. the transition that skipped it. Offsets lie within
 * −12h..+14h, so the instant is inside [wall − 15h, wall + 13h]; binary search to the millisecond.
 */
function endOfGap(zone: IANAZone, wall: number): number {
  let low = wall - 15 * MS_PER_HOUR; // wall clock here is before `wall`
  let high = wall + 13 * MS_PER_HOUR; // and here after it
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (wallClockAt(zone, middle) > wall) high = middle;
    else low = middle;
  }
  if (wallClockAt(zone, high) <= wall || wallClockAt(zone, high - 1) >= wall) {
    throw new Error(`could not resolve local time ${new Date(wall).toISOString()} in ${zone.name}`);
  }
  return high;
}
