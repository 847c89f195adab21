/**
 * Masked renderings of personal fields (DESIGN.md "Retention": `J***`, `j***@example.com`, `******67`), in
 * TypeScript for single records and as PostgreSQL expressions for set-based masking in batches.
 *
 * Every rule is idempotent (masking a masked value changes nothing), so a sweep that runs twice is harmless.
 * null stays null and '' stays '' (nothing to hide, and "empty" stays distinguishable from "masked").
 *
 * The TS functions and `maskSqlExpressions` must render exactly the same text. They are written side by side
 * with only operations that mean the same thing in both languages:
 *   first character   TS: first code point             SQL: left(x, 1)   (characters, in a UTF8 database)
 *   lower-casing      TS: ASCII A–Z only               SQL: translate(…, 'A…Z', 'a…z')
 *                     (lower() follows the database's locale, which may leave non-ASCII letters alone)
 *   digits            TS: /[^0-9]/g removed, last 2    SQL: right(regexp_replace(x, '[^0-9]', '', 'g'), 2)
 *   email domain      TS: after the last '@'           SQL: split_part(x, '@', -1)   (PostgreSQL ≥ 14)
 */
import type { RetentionModule } from './retention-dates.ts';

export const MASK = '***';
/** Six stars whatever the length: the masked phone must not reveal how many digits there were. */
const PHONE_MASK = '******';

export interface LeadPersonalFields {
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
  phone?: string | null;
  notes?: string | null;
}
export interface ContactPersonalFields extends LeadPersonalFields {
  address?: string | null;
}
export type PersonalField = keyof ContactPersonalFields;

/** The fields masking replaces (and the vault keeps), per module. */
export const PERSONAL_FIELDS = {
  LEADS: ['firstName', 'lastName', 'email', 'phone', 'notes'],
  CONTACTS: ['firstName', 'lastName', 'email', 'phone', 'address', 'notes'],
} as const satisfies Record<RetentionModule, readonly PersonalField[]>;

type Masker = (value: string) => string;

const MASKERS: Record<PersonalField, Masker> = {
  firstName: maskNameText,
  lastName: maskNameText,
  email: maskEmailText,
  phone: maskPhoneText,
  address: maskFreeText,
  notes: maskFreeText,
};

// ---------------------------------------------------------------------------------------------------------------
// Single values

/** `John` → `J***`: the first character as written, then `***`. */
export function maskName(value: string): string;
export function maskName(value: string | null): string | null;
export function maskName(value: string | null): string | null {
  return applyMask(value, maskNameText);
}

/**
 * `John.Doe@Example.com` → `j***@Example.com`: the first character of the local part, lower-cased (ASCII), `***`,
 * and the domain as written. A value without a local part and a domain (no '@', or nothing before or after the
 * last '@') is not an address: it becomes its first character (lower-cased) and `***`.
 */
export function maskEmail(value: string): string;
export function maskEmail(value: string | null): string | null;
export function maskEmail(value: string | null): string | null {
  return applyMask(value, maskEmailText);
}

/** `+65 9123 4567` → `******67`: six stars and the last two digits (fewer when the value has fewer digits). */
export function maskPhone(value: string): string;
export function maskPhone(value: string | null): string | null;
export function maskPhone(value: string | null): string | null {
  return applyMask(value, maskPhoneText);
}

/** Address and notes → `***`: free text can hold anything, so nothing of it is kept. */
export function maskText(value: string): string;
export function maskText(value: string | null): string | null;
export function maskText(value: string | null): string | null {
  return applyMask(value, maskFreeText);
}

function applyMask(value: string | null, mask: Masker): string | null {
  return value === null || value === '' ? value : mask(value);
}

function maskNameText(value: string): string {
  return firstCharacter(value) + MASK;
}

function maskEmailText(value: string): string {
  const at = value.lastIndexOf('@');
  const start = lowerAscii(firstCharacter(value)) + MASK;
  // at > 0: a non-empty local part (whose first character is the value's); at < length − 1: a non-empty domain.
  return at > 0 && at < value.length - 1 ? `${start}@${value.slice(at + 1)}` : start;
}

function maskPhoneText(value: string): string {
  return PHONE_MASK + value.replace(/[^0-9]/g, '').slice(-2);
}

function maskFreeText(): string {
  return MASK;
}

function firstCharacter(value: string): string {
  const codePoint = value.codePointAt(0);
  return codePoint === undefined ? '' : String.fromCodePoint(codePoint);
}

function lowerAscii(value: string): string {
  return value.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

// ---------------------------------------------------------------------------------------------------------------
// Records

/** A copy of `record` with its lead personal fields masked; other keys (id, company, …) are kept as they are. */
export function maskLead<T extends LeadPersonalFields>(record: T): T {
  return maskFields(record, PERSONAL_FIELDS.LEADS);
}

/** A copy of `record` with its contact personal fields masked; other keys are kept as they are. */
export function maskContact<T extends ContactPersonalFields>(record: T): T {
  return maskFields(record, PERSONAL_FIELDS.CONTACTS);
}

/** Masks by module name, for code that handles both modules alike (the sweep). */
export function maskRecord<T extends ContactPersonalFields>(module: RetentionModule, record: T): T {
  return module === 'LEADS' ? maskLead(record) : maskContact(record);
}

function maskFields<T extends ContactPersonalFields>(record: T, fields: readonly PersonalField[]): T {
  const copy: T = { ...record };
  for (const field of fields) {
    const value = record[field];
    // An absent key stays absent: callers may pass partial records (e.g. only the columns they selected).
    if (value !== undefined) copy[field] = applyMask(value, MASKERS[field]) as T[PersonalField];
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------------------------
// SQL

export type PersonalColumn = 'first_name' | 'last_name' | 'email' | 'phone' | 'address' | 'notes';

const COLUMN_OF: Record<PersonalField, PersonalColumn> = {
  firstName: 'first_name',
  lastName: 'last_name',
  email: 'email',
  phone: 'phone',
  address: 'address',
  notes: 'notes',
};

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Per personal column of `module`, a PostgreSQL expression that renders the column's masked value exactly as the
 * TS functions above do, for `UPDATE … SET first_name = <expr>, …` over a batch. `qualifier` (a table alias)
 * prefixes the column references when the statement joins tables with the same column names.
 *
 * Expected equivalence (to be checked against a real database): for every text x, including NULL and '',
 *   SELECT <expr> FROM (SELECT x AS first_name) t   =  maskName(x)   (and likewise per column)
 */
export function maskSqlExpressions(
  module: RetentionModule,
  qualifier?: string,
): Partial<Record<PersonalColumn, string>> {
  if (qualifier !== undefined && !/^[a-z_][a-z0-9_]*$/.test(qualifier)) {
    throw new RangeError(`maskSqlExpressions: qualifier must be a plain lower-case SQL identifier`);
  }
  const expressions: Partial<Record<PersonalColumn, string>> = {};
  for (const field of PERSONAL_FIELDS[module]) {
    const column = COLUMN_OF[field];
    const reference = qualifier === undefined ? column : `${qualifier}.${column}`;
    expressions[column] = keepNullAndEmpty(reference, SQL_RENDERERS[field](reference));
  }
  return expressions;
}

const SQL_RENDERERS: Record<PersonalField, (x: string) => string> = {
  firstName: nameSql,
  lastName: nameSql,
  email: emailSql,
  phone: (x) => `'${PHONE_MASK}' || right(regexp_replace(${x}, '[^0-9]', '', 'g'), 2)`,
  address: () => `'${MASK}'`,
  notes: () => `'${MASK}'`,
};

function keepNullAndEmpty(x: string, masked: string): string {
  return `(CASE WHEN ${x} IS NULL OR ${x} = '' THEN ${x} ELSE ${masked} END)`;
}

function nameSql(x: string): string {
  return `left(${x}, 1) || '${MASK}'`;
}

function emailSql(x: string): string {
  const domain = `split_part(${x}, '@', -1)`;
  const start = `translate(left(${x}, 1), '${UPPER}', '${LOWER}') || '${MASK}'`;
  // Without '@', split_part returns the whole value, so the length difference is 0 and the first branch fails.
  const hasLocalAndDomain = `length(${x}) - length(${domain}) > 1 AND ${domain} <> ''`;
  return `(CASE WHEN ${hasLocalAndDomain} THEN ${start} || '@' || ${domain} ELSE ${start} END)`;
}
