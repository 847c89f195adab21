/**
 * The columns of each module in a backup archive (API.md §5): header names, cell types and the SQL that reads them.
 * The restore feature reuses the headers and types, so this is the single source of the archive's layout.
 */

export const MODULE_NAMES = ['LEADS', 'CONTACTS', 'ACCOUNTS', 'DEALS'] as const;
export type ModuleName = (typeof MODULE_NAMES)[number];

/** How a cell is written. `date` values travel as epoch milliseconds (a number): a Date per cell is costly. */
export type ColumnType = 'text' | 'number' | 'boolean' | 'date';

/** A value of one cell as the writers receive it (`date` → epoch ms). */
export type CellValue = string | number | boolean | null;
export type RowValues = readonly CellValue[];

/** The SQL type of the selected expression: how the value arrives in binary COPY (row-transcoder.ts). */
export type SqlType = 'text' | 'uuid' | 'timestamptz' | 'float8' | 'bool';

const DEFAULT_SQL_TYPE: Readonly<Record<ColumnType, SqlType>> = {
  text: 'text',
  date: 'timestamptz',
  number: 'float8',
  boolean: 'bool',
};

/** The column's SQL type: `sqlType`, or the natural one for its cell type. */
export function sqlTypeOf(column: ColumnSpec): SqlType {
  return column.sqlType ?? DEFAULT_SQL_TYPE[column.type];
}

export interface ColumnSpec {
  /** The header in the CSV and XLSX files (the GraphQL field name). */
  readonly header: string;
  readonly type: ColumnType;
  /** Only where it differs from the cell type's natural one (uuid for text cells). */
  readonly sqlType?: SqlType;
  /** SQL expression over the module table aliased `t` and its owner `u`. */
  readonly sql: string;
}

export interface ModuleSpec {
  readonly module: ModuleName;
  /** File name without extension inside the archive, and the XLSX sheet name. */
  readonly fileBase: string;
  readonly table: string;
  readonly columns: readonly ColumnSpec[];
}

const text = (header: string, column: string): ColumnSpec => ({ header, type: 'text', sqlType: 'text', sql: `t.${column}` });
/** Ids and relations: text in the files, 16 bytes on the wire. */
const uuid = (header: string, column: string): ColumnSpec => ({ header, type: 'text', sqlType: 'uuid', sql: `t.${column}` });
const date = (header: string, column: string): ColumnSpec => ({
  header,
  type: 'date',
  sqlType: 'timestamptz',
  sql: `t.${column}`,
});

const ID = uuid('id', 'id');
const OWNER_EMAIL: ColumnSpec = { header: 'ownerEmail', type: 'text', sqlType: 'text', sql: 'u.email' };
const AUDIT = [date('createdAt', 'created_at'), date('updatedAt', 'updated_at')];
const RETENTION: ColumnSpec[] = [
  date('retentionEndsAt', 'retention_ends_at'),
  date('deletesAt', 'deletes_at'),
  date('maskedAt', 'masked_at'),
  { header: 'legalHold', type: 'boolean', sqlType: 'bool', sql: 't.legal_hold' },
];

export const MODULE_SPECS: Readonly<Record<ModuleName, ModuleSpec>> = {
  LEADS: {
    module: 'LEADS',
    fileBase: 'leads',
    table: 'leads',
    columns: [
      ID,
      text('firstName', 'first_name'),
      text('lastName', 'last_name'),
      text('email', 'email'),
      text('phone', 'phone'),
      text('company', 'company'),
      text('title', 'title'),
      text('status', 'status'),
      text('source', 'source'),
      text('notes', 'notes'),
      OWNER_EMAIL,
      ...AUDIT,
      ...RETENTION,
    ],
  },
  CONTACTS: {
    module: 'CONTACTS',
    fileBase: 'contacts',
    table: 'contacts',
    columns: [
      ID,
      text('firstName', 'first_name'),
      text('lastName', 'last_name'),
      text('email', 'email'),
      text('phone', 'phone'),
      text('jobTitle', 'job_title'),
      text('address', 'address'),
      text('notes', 'notes'),
      uuid('accountId', 'account_id'),
      OWNER_EMAIL,
      ...AUDIT,
      ...RETENTION,
    ],
  },
  ACCOUNTS: {
    module: 'ACCOUNTS',
    fileBase: 'accounts',
    table: 'accounts',
    columns: [
      ID,
      text('name', 'name'),
      text('domain', 'domain'),
      text('industry', 'industry'),
      text('phone', 'phone'),
      text('address', 'address'),
      OWNER_EMAIL,
      ...AUDIT,
    ],
  },
  DEALS: {
    module: 'DEALS',
    fileBase: 'deals',
    table: 'deals',
    columns: [
      ID,
      text('name', 'name'),
      { header: 'amount', type: 'number', sqlType: 'float8', sql: 't.amount' },
      text('currency', 'currency'),
      text('stage', 'stage'),
      // A calendar day with no time zone (GraphQL `String`): exported as its `YYYY-MM-DD` text, not as a date cell,
      // so that no reader shifts it by a time zone.
      { header: 'closeDate', type: 'text', sqlType: 'text', sql: 't.close_date::text' },
      uuid('accountId', 'account_id'),
      uuid('contactId', 'contact_id'),
      OWNER_EMAIL,
      ...AUDIT,
    ],
  },
};

export function moduleSpec(module: ModuleName): ModuleSpec {
  return MODULE_SPECS[module];
}

/** Headers of a module in file order (what the restore side expects in row 1). */
export function moduleHeaders(module: ModuleName): string[] {
  return MODULE_SPECS[module].columns.map((c) => c.header);
}

/**
 * The rows of one module of one organization, in a stable order. The owner join repeats the organization so that a
 * misattributed owner from another tenant never leaks an email address. `organization` is the SQL for the
 * organization id: a bind parameter by default; COPY takes no parameters, so the exporter passes a quoted literal.
 */
export function moduleSelectSql(module: ModuleName, organization = '$1'): string {
  const spec = MODULE_SPECS[module];
  const columns = spec.columns.map((c) => c.sql).join(', ');
  return (
    `select ${columns} from ${spec.table} t ` +
    'left join users u on u.id = t.owner_id and u.organization_id = t.organization_id ' +
    `where t.organization_id = ${organization} order by t.created_at, t.id`
  );
}

export function moduleCountSql(module: ModuleName): string {
  return `select count(*)::int8 as n from ${MODULE_SPECS[module].table} where organization_id = $1`;
}
