/**
 * Messages between an import job (main thread) and its parser thread (import-parse-worker.ts). Types and two
 * small pure functions only: the worker loads this file by type stripping.
 */
import type { ImportLimits } from '../../import/import-limits.ts';
import { RejectedCell, type CellValue, type TableRow } from '../../import/table.types.ts';
import type { CrmModuleName } from '../crm/crm.modules.ts';
import type { LocalSource } from './import-sources.ts';

export interface ParseJob {
  source: LocalSource;
  /** CSV/XLSX: the one module; ZIP: the modules asked for, or null for all the archive holds. */
  modules: CrmModuleName[] | null;
  tempDir: string;
  limits: ImportLimits;
}

/** A cell crossing threads: a RejectedCell (a class) travels as `{ rejected }`. */
export type WireCell = CellValue | { rejected: string };
export interface WireRow {
  row: number;
  cells: WireCell[];
  sparse?: boolean;
}

export interface WireError {
  name: string;
  message: string;
  file?: string;
  reason?: string;
}

export type FromParser =
  | { type: 'modules'; modules: CrmModuleName[] }
  | { type: 'table'; table: number; module: CrmModuleName; file: string; header: string[]; unescapeText: boolean }
  | { type: 'rows'; rows: WireRow[] }
  | { type: 'table-end'; table: number }
  | { type: 'done' }
  | { type: 'failed'; error: WireError };

/**
 * `start`: read this job (a thread reads one job at a time, and is reused for the next only after a clean end);
 * `ack`: one chunk of rows consumed (a credit back); `skip`: the job does not want the rest of table `table`.
 */
export type ToParser = { type: 'start'; job: ParseJob } | { type: 'ack' } | { type: 'skip'; table: number };

/** Chunks of rows the parser may send ahead of the job (each at most ROWS_PER_CHUNK rows or CHUNK_CHARS of text). */
export const CHUNK_WINDOW = 2;
export const ROWS_PER_CHUNK = 256;
export const CHUNK_CHARS = 1024 * 1024;

export function toWire(row: TableRow): WireRow {
  const cells = row.cells.map((c): WireCell => (c instanceof RejectedCell ? { rejected: c.reason } : c));
  return { row: row.row, cells, sparse: row.sparse };
}

export function fromWire(row: WireRow): TableRow {
  const cells = row.cells.map((c) => (c !== null && typeof c === 'object' && !(c instanceof Date) ? new RejectedCell(c.rejected) : c));
  return { row: row.row, cells, sparse: row.sparse };
}

/** Roughly the characters a row carries (chunks are sized by it, so a chunk of wide rows stays small). */
export function rowChars(row: TableRow): number {
  let chars = 0;
  for (const c of row.cells) chars += typeof c === 'string' ? c.length : 8;
  return chars;
}
