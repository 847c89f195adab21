/**
 * Retention periods and the per-record dates they produce (DESIGN.md "Retention"). Pure: all arithmetic is
 * calendar arithmetic in UTC, so it does not depend on the process's or the database session's time zone.
 *
 * Records' dates themselves are computed in SQL on the organization's calendar (retention-records.repository.ts,
 * `zonedPlus`); with an organization in UTC that is exactly `addPeriod` here. The service uses `addPeriod` only for
 * bounds that need no calendar of their own (100 years ahead, the preview's 30 days, a STANDARD user's limit).
 */
import { RETENTION_MODULES, type RetentionModule } from '../crm/crm.modules.ts';

// Which modules have retention is the registry's to say (`retention: true`); re-exported for the retention feature.
export { RETENTION_MODULES, type RetentionModule };

export const PERIOD_UNITS = ['DAYS', 'WEEKS', 'MONTHS', 'YEARS'] as const;
export type PeriodUnit = (typeof PERIOD_UNITS)[number];

export const RETENTION_BASES = ['CREATED_AT', 'UPDATED_AT'] as const;
export type RetentionBasis = (typeof RETENTION_BASES)[number];

export const RETENTION_ACTIONS = ['MASK', 'DELETE'] as const;
export type RetentionAction = (typeof RETENTION_ACTIONS)[number];

export interface Period {
  value: number;
  unit: PeriodUnit;
}

/** The parts of a policy that decide a record's dates. */
export interface RetentionRules {
  basis: RetentionBasis;
  retentionPeriod: Period;
  action: RetentionAction;
  /** DELETE: grace period after the retention date (0 = at once). MASK: how long masked records are kept (≥ 1). */
  actionPeriod: Period;
}

export interface RetentionPolicy extends RetentionRules {
  module: RetentionModule;
  enabled: boolean;
}

export interface RecordDates {
  /** The record's retention date: basis + retentionPeriod. */
  retentionEndsAt: Date;
  /** The record's deletion date: retentionEndsAt + actionPeriod. */
  deletesAt: Date;
}

/** What a client sends (GraphQL `RetentionPolicyInput`); nothing is trusted yet. */
export interface RetentionPolicyInput {
  module: string;
  enabled: boolean;
  /** Default CREATED_AT (API.md). */
  basis?: string | null;
  retentionPeriod: { value: number; unit: string };
  action: string;
  actionPeriod: { value: number; unit: string };
}

export type PolicyValidation =
  | { ok: true; policy: RetentionPolicy }
  | { ok: false; field: string; rule: string; message: string };

/** Largest period value a policy may hold (the database checks the same bound). */
export const MAX_PERIOD_VALUE = 1000;
const MS_PER_DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------------------------
// Period arithmetic

/**
 * `date` + `period`, calendar-correct in UTC. DAYS and WEEKS are exact multiples of 24 h (UTC has no DST).
 * MONTHS and YEARS move the UTC calendar month and keep the day, clamped to the target month's last day
 * (31 Jan + 1 month = 28/29 Feb; 29 Feb 2028 + 1 year = 28 Feb 2029); the time of day is kept.
 *
 * Clamping makes MONTHS/YEARS monotonic by calendar day but not by the millisecond: 30 Jan 23:00 and 31 Jan 01:00
 * both land on 28 Feb, at 23:00 and 01:00. PostgreSQL does the same, and agreeing with it matters more (see
 * `periodToPgInterval`).
 */
export function addPeriod(date: Date, period: Period): Date {
  assertValidDate(date, 'date');
  assertPeriod(period);
  const result =
    period.unit === 'DAYS' || period.unit === 'WEEKS'
      ? new Date(date.getTime() + period.value * daysPerUnit(period.unit) * MS_PER_DAY)
      : addMonthsUtc(date, period.value * (period.unit === 'YEARS' ? 12 : 1));
  if (Number.isNaN(result.getTime())) throw new RangeError('addPeriod: result is out of the Date range');
  return result;
}

function daysPerUnit(unit: 'DAYS' | 'WEEKS'): number {
  return unit === 'WEEKS' ? 7 : 1;
}

function addMonthsUtc(date: Date, months: number): Date {
  const index = date.getUTCFullYear() * 12 + date.getUTCMonth() + months;
  const year = Math.floor(index / 12);
  const month = index % 12; // 0-based
  const day = Math.min(date.getUTCDate(), daysInUtcMonth(year, month));
  const result = new Date(date.getTime());
  // setUTCFullYear keeps the time of day and, unlike Date.UTC, does not read years below 100 as 19xx.
  result.setUTCFullYear(year, month, day);
  return result;
}

function daysInUtcMonth(year: number, month: number): number {
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year, month + 1, 0);
  return lastDay.getUTCDate();
}

function assertValidDate(date: Date, name: string): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new RangeError(`${name} must be a valid Date`);
  }
}

// Periods are durations: negative or fractional values have no meaning here and would be a caller's bug.
function assertPeriod(period: Period): void {
  if (!(PERIOD_UNITS as readonly string[]).includes(period.unit)) {
    throw new RangeError(`period unit must be one of ${PERIOD_UNITS.join(', ')}`);
  }
  if (!Number.isSafeInteger(period.value) || period.value < 0) {
    throw new RangeError('period value must be a non-negative integer');
  }
}

/**
 * The same period as a PostgreSQL interval literal (`'2 years'`, `'6 months'`, `'1 day'`), for set-based
 * recomputation. Pass it as a bound parameter (`$1::interval`), never spliced into SQL text.
 *
 * Why SQL and `addPeriod` agree: PostgreSQL adds an interval's month part by moving the year/month fields and
 * clamping the day to the target month's length (timestamp_pl_interval), then adds day parts as calendar days and
 * keeps the time of day — exactly `addPeriod`. Calendar days and months depend on a time zone, and for
 * `timestamptz + interval` that is the session's TimeZone (DST days would be 23 or 25 h). So the SQL pins UTC:
 *
 *   retention_ends_at = ((created_at AT TIME ZONE 'UTC') + $1::interval) AT TIME ZONE 'UTC'
 *   deletes_at        = ((retention_ends_at AT TIME ZONE 'UTC') + $2::interval) AT TIME ZONE 'UTC'
 *
 * (`AT TIME ZONE 'UTC'` turns timestamptz into a UTC wall-clock timestamp, the addition runs on that, and the
 * second `AT TIME ZONE 'UTC'` turns it back.) A policy's period has a single unit, so the order PostgreSQL
 * applies mixed parts in never matters.
 */
export function periodToPgInterval(period: Period): string {
  assertPeriod(period);
  const unit = period.unit.toLowerCase().slice(0, -1); // 'DAYS' → 'day'
  return `${period.value} ${unit}${period.value === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Per-record dates

/** A record's retention and deletion dates under `policy` (DESIGN.md: deletesAt = retentionEndsAt + actionPeriod). */
export function computeRecordDates(
  record: { createdAt: Date; updatedAt: Date },
  policy: RetentionRules,
): RecordDates {
  const basis = policy.basis === 'UPDATED_AT' ? record.updatedAt : record.createdAt;
  return moveRetentionDate(addPeriod(basis, policy.retentionPeriod), policy);
}

/** A retention date chosen by a user: the deletion date moves with it (DESIGN.md). */
export function moveRetentionDate(
  newRetentionEndsAt: Date,
  policy: Pick<RetentionRules, 'actionPeriod'>,
): RecordDates {
  assertValidDate(newRetentionEndsAt, 'retentionEndsAt');
  return {
    retentionEndsAt: new Date(newRetentionEndsAt.getTime()),
    deletesAt: addPeriod(newRetentionEndsAt, policy.actionPeriod),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

type Check = () => { field: string; rule: string } | undefined;

/** The policy, or the first problem with the input (the GraphQL layer turns it into BAD_USER_INPUT). */
export function validatePolicyInput(input: RetentionPolicyInput): PolicyValidation {
  const basis = input.basis ?? 'CREATED_AT';
  const checks: Check[] = [
    () => oneOf('module', input.module, RETENTION_MODULES),
    () => (typeof input.enabled === 'boolean' ? undefined : { field: 'enabled', rule: 'must be true or false' }),
    () => oneOf('basis', basis, RETENTION_BASES),
    () => periodProblem('retentionPeriod', input.retentionPeriod, 1),
    () => oneOf('action', input.action, RETENTION_ACTIONS),
    () => periodProblem('actionPeriod', input.actionPeriod, 0),
    () => maskKeepsAtLeastADay(input),
  ];
  for (const check of checks) {
    const found = check();
    if (found) return { ok: false, ...found, message: `${found.field} ${found.rule}` };
  }
  return { ok: true, policy: toPolicy(input, basis as RetentionBasis) };
}

function toPolicy(input: RetentionPolicyInput, basis: RetentionBasis): RetentionPolicy {
  return {
    module: input.module as RetentionModule,
    enabled: input.enabled,
    basis,
    retentionPeriod: { value: input.retentionPeriod.value, unit: input.retentionPeriod.unit as PeriodUnit },
    action: input.action as RetentionAction,
    actionPeriod: { value: input.actionPeriod.value, unit: input.actionPeriod.unit as PeriodUnit },
  };
}

function oneOf(field: string, value: unknown, allowed: readonly string[]): { field: string; rule: string } | undefined {
  if (allowed.includes(value as string)) return undefined;
  const list = allowed.length === 2 ? `${allowed[0]} or ${allowed[1]}` : `one of ${allowed.join(', ')}`;
  return { field, rule: `must be ${list}` };
}

function periodProblem(
  field: string,
  period: { value: unknown; unit: unknown } | null | undefined,
  min: number,
): { field: string; rule: string } | undefined {
  if (period === null || period === undefined) return { field, rule: 'is required' };
  const unit = oneOf(`${field}.unit`, period.unit, PERIOD_UNITS);
  if (unit) return unit;
  const value = period.value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_PERIOD_VALUE) {
    return { field: `${field}.value`, rule: `must be an integer between ${min} and ${MAX_PERIOD_VALUE}` };
  }
  return undefined;
}

// A masked record and its vault entry must outlive the masking by at least a day (DESIGN.md); every unit's
// smallest step is at least one day, so value ≥ 1 is the rule whatever the unit.
function maskKeepsAtLeastADay(input: RetentionPolicyInput): { field: string; rule: string } | undefined {
  if (input.action !== 'MASK' || input.actionPeriod.value >= 1) return undefined;
  return { field: 'actionPeriod', rule: 'must be at least 1 day for MASK' };
}
