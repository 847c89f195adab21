/**
 * The columns of each module in a backup archive (API.md §5): header names, cell types and the SQL that reads them,
 * derived from the CRM registry (crm.modules.ts). The restore feature reuses the headers and types, so this is the
 * single source of the archive's layout.
 */
import { CRM_MODULE_NAMES, MODULES, perModule, type CrmModuleName, type FieldSpec, type ModuleSpec as RecordSpec } from '../modules/crm/crm.modules.ts';

export const MODULE_NAMES = CRM_MODULE_NAMES;
export type ModuleName = CrmModuleName;

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
const date = (header: string, column: string): ColumnSpec => ({ header, type: 'date', sqlType: 'timestamptz', sql: `t.${column}` });

const ID = uuid('id', 'id');
const OWNER_EMAIL: ColumnSpec = { header: 'ownerEmail', type: 'text', sqlType: 'text', sql: 'u.email' };
const AUDIT = [date('createdAt', 'created_at'), date('updatedAt', 'updated_at')];
const RETENTION: ColumnSpec[] = [
  date('retentionEndsAt', 'retention_ends_at'),
  date('deletesAt', 'deletes_at'),
  date('maskedAt', 'masked_at'),
  { header: 'legalHold', type: 'boolean', sqlType: 'bool', sql: 't.legal_hold' },
];

/** A field's column: ids and relations are text in the files and 16 bytes on the wire. */
function fieldColumn(header: string, field: FieldSpec): ColumnSpec {
  switch (field.kind) {
    case 'amount':
      return { header, type: 'number', sqlType: 'float8', sql: `t.${field.column}` };
    case 'ref':
      return uuid(header, field.column);
    case 'date':
      // A calendar day with no time zone (GraphQL `String`): exported as its `YYYY-MM-DD` text, not as a date cell,
      // so that no reader shifts it by a time zone.
      return { header, type: 'text', sqlType: 'text', sql: `t.${field.column}::text` };
    default:
      return text(header, field.column);
  }
}

/** `id`, the fields in registry order, `ownerEmail`, the audit dates, then the retention columns if any. */
function archiveSpec(record: RecordSpec): ModuleSpec {
  const fields = Object.entries(record.fields).map(([header, field]) => fieldColumn(header, field));
  return {
    module: record.module,
    fileBase: record.table,
    table: record.table,
    columns: [ID, ...fields, OWNER_EMAIL, ...AUDIT, ...(record.retention ? RETENTION : [])],
  };
}

export const MODULE_SPECS = perModule(CRM_MODULE_NAMES, (module) => archiveSpec(MODULES[module]));

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
