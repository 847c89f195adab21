import { MODULE_SPECS, type ColumnType } from '../../export/module-columns.ts';
import { MODULES, type CrmModuleName, type FieldSpec } from '../crm/crm.modules.ts';
import { excerpt } from '../../import/import-limits.ts';
import { badInput } from '../../shared/app-error.ts';

/**
 * What each column of an archive file means to the importer. The layout (names, order, cell types) is the
 * export's (module-columns.ts) and the rules of each field are the CRM registry's (crm.modules.ts), both read from
 * the same record definitions, so an imported row is checked by the same `validateFields` as a GraphQL mutation.
 */
export type ColumnRole =
  | { role: 'id' }
  | { role: 'field'; field: string; spec: FieldSpec }
  | { role: 'owner' }
  | { role: 'createdAt' }
  | { role: 'updatedAt' }
  | { role: 'maskedAt' }
  | { role: 'legalHold' }
  /** Recomputed from the current policy on import, never copied (retentionEndsAt, deletesAt). */
  | { role: 'recomputed' };

export interface ImportColumn {
  header: string;
  type: ColumnType;
  role: ColumnRole;
  /** Where the column sits in the file's header (files may order columns differently). */
  index: number;
}

export interface HeaderPlan {
  module: CrmModuleName;
  columns: ImportColumn[];
  /** Cells a row must have: the header's width. */
  width: number;
  /** Whether the file carries the retention state columns (maskedAt, legalHold). */
  hasMaskedAt: boolean;
  hasLegalHold: boolean;
  /** Text cells carry §5's `'` formula guard, removed on import (CSV, format 1 XLSX); false: read verbatim. */
  unescapeText: boolean;
}

// Retention columns are optional in a file: their values are either recomputed or merged with the database's.
const OPTIONAL = new Set(['retentionEndsAt', 'deletesAt', 'maskedAt', 'legalHold']);

/** A column a file may lack: a retention column, or a field added after older files were written. */
function isOptional(module: CrmModuleName, header: string): boolean {
  return OPTIONAL.has(header) || MODULES[module].fields[header]?.addedLater === true;
}

function roleOf(module: CrmModuleName, header: string): ColumnRole {
  switch (header) {
    case 'id':
      return { role: 'id' };
    case 'ownerEmail':
      return { role: 'owner' };
    case 'createdAt':
      return { role: 'createdAt' };
    case 'updatedAt':
      return { role: 'updatedAt' };
    case 'maskedAt':
      return { role: 'maskedAt' };
    case 'legalHold':
      return { role: 'legalHold' };
    case 'retentionEndsAt':
    case 'deletesAt':
      return { role: 'recomputed' };
  }
  const spec: FieldSpec | undefined = MODULES[module].fields[header];
  if (!spec) throw new Error(`the archive columns name ${header}, which the ${module} registry entry does not`);
  return { role: 'field', field: header, spec };
}

/**
 * Matches a file's header row to the module's columns, in any order. Unknown, duplicated or missing columns make
 * the whole file unusable: BAD_USER_INPUT naming them (the upload answers 400 with this message).
 */
export function planHeader(module: CrmModuleName, header: readonly string[], file: string, unescapeText = true): HeaderPlan {
  const expected = MODULE_SPECS[module].columns;
  const positions = new Map<string, number>();
  const unknown: string[] = [];
  const duplicated: string[] = [];
  header.forEach((raw, index) => {
    const name = raw.trim();
    // A header cell is the file's text: quoted only as a short excerpt (a 50 MB "column name" stays in the file).
    if (!expected.some((c) => c.header === name)) unknown.push(name === '' ? `(empty, column ${index + 1})` : excerpt(name, 60));
    else if (positions.has(name)) duplicated.push(name);
    else positions.set(name, index);
  });
  const missing = expected.filter((c) => !positions.has(c.header) && !isOptional(module, c.header)).map((c) => c.header);
  const problems = [
    missing.length ? `missing ${missing.join(', ')}` : '',
    unknown.length ? `unknown ${listed(unknown)}` : '',
    duplicated.length ? `repeated ${duplicated.join(', ')}` : '',
  ].filter(Boolean);
  if (problems.length > 0) {
    throw badInput('file', `${file} does not have the ${MODULE_SPECS[module].fileBase} columns (${problems.join('; ')}); expected: ${expected.map((c) => c.header).join(', ')}`);
  }
  const columns = expected
    .filter((c) => positions.has(c.header))
    .map((c) => ({ header: c.header, type: c.type, role: roleOf(module, c.header), index: positions.get(c.header)! }));
  return {
    module,
    columns,
    width: header.length,
    hasMaskedAt: positions.has('maskedAt'),
    hasLegalHold: positions.has('legalHold'),
    unescapeText,
  };
}

/** The first few of a list of names, then how many more (a file may have hundreds of unknown columns). */
function listed(names: string[], shown = 10): string {
  const head = names.slice(0, shown).join(', ');
  return names.length > shown ? `${head} and ${names.length - shown} more` : head;
}

/** The archive's file name of a module without extension (`contacts`), and back. */
export const fileBaseOf = (module: CrmModuleName): string => MODULE_SPECS[module].fileBase;
