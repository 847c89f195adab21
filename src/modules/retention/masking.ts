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
import { MODULES, perModule, personalFields, RETENTION_MODULES, type MaskKind, type RetentionModule } from '../crm/crm.modules.ts';

export const MASK = '***';
/** Six stars whatever the length: the masked phone must not reveal how many digits there were. */
const PHONE_MASK = '******';

/** A personal field's name (the registry marks them `personal`). */
export type PersonalField = string;
/** A personal field's table column. */
export type PersonalColumn = string;

/** The fields masking replaces (and the vault keeps), per module, in field order: read from the registry. */
export const PERSONAL_FIELDS: Readonly<Record<RetentionModule, readonly PersonalField[]>> = perModule(RETENTION_MODULES, personalFields);

type Masker = (value: string) => string;

const MASKERS: Record<MaskKind, Masker> = {
  name: maskNameText,
  email: maskEmailText,
  phone: maskPhoneText,
  text: maskFreeText,
};

/** How the registry says a personal field is masked. */
function maskKindOf(module: RetentionModule, field: PersonalField): MaskKind {
  const kind = MODULES[module].fields[field]?.personal;
  if (!kind) throw new Error(`${module}.${field} is not a personal field`);
  return kind;
}

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
export function maskLead<T extends object>(record: T): T {
  return maskRecord('LEADS', record);
}

/** A copy of `record` with its contact personal fields masked; other keys are kept as they are. */
export function maskContact<T extends object>(record: T): T {
  return maskRecord('CONTACTS', record);
}

/** Masks by module name, for code that handles both modules alike (the sweep). */
export function maskRecord<T extends object>(module: RetentionModule, record: T): T {
  const copy: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  for (const field of PERSONAL_FIELDS[module]) {
    const value = copy[field];
    // An absent key stays absent: callers may pass partial records (e.g. only the columns they selected).
    if (typeof value === 'string') copy[field] = applyMask(value, MASKERS[maskKindOf(module, field)]);
  }
  return copy as T;
}

// ---------------------------------------------------------------------------------------------------------------
// SQL

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
): Record<PersonalColumn, string> {
  if (qualifier !== undefined && !/^[a-z_][a-z0-9_]*$/.test(qualifier)) {
    throw new RangeError(`maskSqlExpressions: qualifier must be a plain lower-case SQL identifier`);
  }
  const expressions: Record<PersonalColumn, string> = {};
  for (const field of PERSONAL_FIELDS[module]) {
    const column = MODULES[module].fields[field]!.column;
    const reference = qualifier === undefined ? column : `${qualifier}.${column}`;
    expressions[column] = keepNullAndEmpty(reference, SQL_RENDERERS[maskKindOf(module, field)](reference));
  }
  return expressions;
}

const SQL_RENDERERS: Record<MaskKind, (x: string) => string> = {
  name: nameSql,
  email: emailSql,
  phone: (x) => `'${PHONE_MASK}' || right(regexp_replace(${x}, '[^0-9]', '', 'g'), 2)`,
  text: () => `'${MASK}'`,
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
