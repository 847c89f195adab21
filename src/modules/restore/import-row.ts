import { unescapeCell } from '../../export/cell-escape.ts';
import { AppError } from '../../shared/app-error.ts';
import { isUuid } from '../../shared/validation.ts';
import { RejectedCell, type CellValue, type TableRow } from '../../import/table.types.ts';
import { MODULES, type FieldValues } from '../crm/crm.modules.ts';
import { validateFields } from '../crm/crm.validation.ts';
import type { HeaderPlan, ImportColumn } from './import-columns.ts';

/** One good row, ready for the batch writer: values validated, owner resolved, dates as epoch milliseconds. */
export interface ImportRecord {
  row: number;
  id: string;
  ownerId: string | null;
  createdAt: number;
  updatedAt: number;
  values: FieldValues;
  /** Set when the file holds the row as MASKED (its personal fields are masked renderings). */
  maskedAt: number | null;
  /** null: the file has no legalHold column. */
  legalHold: boolean | null;
}

/** A problem with one row; the message names the column and the rule, like the GraphQL mutations do. */
export class RowError extends Error {}

export interface RowContext {
  /** The organization's user id for an email (case-insensitive), or undefined. */
  ownerByEmail(email: string): string | undefined;
  /** Used when a file leaves createdAt/updatedAt empty: the import's start. */
  defaultTimestamp: number;
}

/** Turns one table row into a record, or throws RowError with the first problem found. */
export function toImportRecord(plan: HeaderPlan, row: TableRow, ctx: RowContext): ImportRecord {
  checkWidth(plan, row);
  const input: Record<string, unknown> = {};
  const record: ImportRecord = {
    row: row.row,
    id: '',
    ownerId: null,
    createdAt: ctx.defaultTimestamp,
    updatedAt: ctx.defaultTimestamp,
    values: {},
    maskedAt: null,
    legalHold: null,
  };
  for (const column of plan.columns) {
    const cell = cellAt(plan, row, column);
    switch (column.role.role) {
      case 'id':
        record.id = idOf(cell);
        break;
      case 'field':
        input[column.role.field] = fieldInput(column, cell);
        break;
      case 'owner':
        record.ownerId = ownerOf(cell, ctx);
        break;
      case 'createdAt':
        record.createdAt = instantOf(column.header, cell) ?? ctx.defaultTimestamp;
        break;
      case 'updatedAt':
        record.updatedAt = instantOf(column.header, cell) ?? ctx.defaultTimestamp;
        break;
      case 'maskedAt':
        record.maskedAt = instantOf(column.header, cell);
        break;
      case 'legalHold':
        record.legalHold = booleanOf(column.header, cell);
        break;
      case 'recomputed':
        break;
    }
  }
  record.values = validated(plan, input);
  return record;
}

function checkWidth(plan: HeaderPlan, row: TableRow): void {
  const extra = row.cells.slice(plan.width).some((c) => c !== null && c !== '');
  if (extra || (row.cells.length < plan.width && !row.sparse)) {
    throw new RowError(`has ${row.cells.length} cells; the header has ${plan.width}`);
  }
}

function cellAt(plan: HeaderPlan, row: TableRow, column: ImportColumn): CellValue {
  const cell = row.cells[column.index] ?? null;
  if (cell instanceof RejectedCell) throw new RowError(`${column.header}: ${cell.reason}`);
  // Only text can carry the formula guard; unescapeCell removes exactly the one apostrophe the export added.
  return plan.unescapeText && typeof cell === 'string' && column.type === 'text' ? unescapeCell(cell) : cell;
}

function validated(plan: HeaderPlan, input: Record<string, unknown>): FieldValues {
  try {
    return validateFields(MODULES[plan.module], input, 'create');
  } catch (error) {
    if (error instanceof AppError) throw new RowError(error.message);
    throw error;
  }
}

function idOf(cell: CellValue): string {
  if (typeof cell !== 'string' || !isUuid(cell.trim())) throw new RowError('id: must be a UUID (the record id)');
  return cell.trim().toLowerCase();
}

function ownerOf(cell: CellValue, ctx: RowContext): string | null {
  if (cell === null || (typeof cell === 'string' && cell.trim() === '')) return null;
  const owner = typeof cell === 'string' ? ctx.ownerByEmail(cell.trim()) : undefined;
  if (!owner) throw new RowError('ownerEmail: must be the email of a user of your organization');
  return owner;
}

/** A cell as the GraphQL input of the field would carry it (validateFields then applies the field's rule). */
function fieldInput(column: ImportColumn, cell: CellValue): unknown {
  if (column.role.role !== 'field') return undefined;
  const kind = column.role.spec.kind;
  if (cell === null) return null;
  if (kind === 'amount') return amountOf(column.header, cell);
  if (kind === 'date' && cell instanceof Date) return cell.toISOString().slice(0, 10);
  if (cell instanceof Date) return cell.toISOString();
  // A number typed into a spreadsheet's text column (a phone number) is still the text it shows.
  return typeof cell === 'string' ? cell : String(cell);
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function amountOf(header: string, cell: Exclude<CellValue, null>): number {
  if (typeof cell === 'number') return cell;
  if (typeof cell === 'string' && cell.trim() === '') return Number.NaN; // validateFields names the rule
  if (typeof cell !== 'string' || !NUMBER.test(cell.trim())) throw new RowError(`${header}: must be a number`);
  return Number(cell.trim());
}

// ISO 8601 with a zone (or a bare date, read as UTC midnight): other shapes would be read in a local time zone.
const INSTANT = /^[+-]?\d{4,6}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

function instantOf(header: string, cell: CellValue): number | null {
  if (cell === null || (typeof cell === 'string' && cell.trim() === '')) return null;
  let ms = Number.NaN;
  if (cell instanceof Date) ms = cell.getTime();
  else if (typeof cell === 'string' && INSTANT.test(cell.trim())) ms = Date.parse(cell.trim());
  if (!Number.isFinite(ms)) throw new RowError(`${header}: must be a date and time in ISO 8601 (e.g. 2026-01-31T09:30:00.000Z)`);
  return ms;
}

function booleanOf(header: string, cell: CellValue): boolean | null {
  if (cell === null || cell === '') return null;
  if (typeof cell === 'boolean') return cell;
  const text = String(cell).trim().toLowerCase();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new RowError(`${header}: must be true or false`);
}
