import fs from 'node:fs/promises';
import { UnreadableFileError } from '../../import/table.types.ts';
import { badInput } from '../../shared/app-error.ts';
import { CRM_MODULE_NAMES, type CrmModuleName } from '../crm/crm.modules.ts';
import { planHeader } from './import-columns.ts';
import type { ImportFormat } from './import-job.repository.ts';
import { tablesOf, zipModules, type LocalSource } from './import-sources.ts';

/** The upload's format from its name, confirmed by its first bytes (an XLSX or ZIP is a ZIP package). */
export async function detectFormat(path: string, fileName: string): Promise<ImportFormat> {
  const ext = /\.([a-z]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  const format = ext === 'csv' ? 'CSV' : ext === 'xlsx' ? 'XLSX' : ext === 'zip' ? 'ZIP' : undefined;
  if (!format) throw badInput('file', 'must be a .csv, .xlsx or .zip file');
  const head = Buffer.alloc(64 * 1024);
  const handle = await fs.open(path, 'r');
  const { bytesRead } = await handle.read(head, 0, head.length, 0).finally(() => handle.close());
  const start = head.subarray(0, bytesRead);
  const isZip = start.length >= 4 && start.readUInt32LE(0) === 0x04034b50;
  if (format === 'CSV' && (isZip || start.includes(0))) throw badInput('file', 'is not a CSV text file');
  if (format !== 'CSV' && !isZip) throw badInput('file', `is not a ${format === 'XLSX' ? 'XLSX workbook' : 'ZIP archive'}`);
  return format;
}

/** `LEADS`, `leads`, `Leads` → LEADS; anything else is a 400 naming the field. */
export function parseModule(field: string, raw: string): CrmModuleName {
  const name = raw.trim().toUpperCase();
  if (!(CRM_MODULE_NAMES as readonly string[]).includes(name)) {
    throw badInput(field, `must be one of ${CRM_MODULE_NAMES.join(', ')} (got "${raw.slice(0, 40)}")`);
  }
  return name as CrmModuleName;
}

/** `modules`: repeated fields, a comma-separated list or a JSON array. */
export function parseModules(values: string[]): CrmModuleName[] {
  const names = values.flatMap((value) => {
    const text = value.trim();
    if (text.startsWith('[')) {
      try {
        const list: unknown = JSON.parse(text);
        if (Array.isArray(list)) return list.map(String);
      } catch {
        // falls through: reported as a bad module name below
      }
    }
    return text.split(',').filter((s) => s.trim() !== '');
  });
  return [...new Set(names.map((n) => parseModule('modules', n)))];
}

/**
 * Reads just enough of an upload to refuse it at once (400) rather than fail later in the job: the ZIP's module
 * files, and the header of every module file (the first sheet of an XLSX). Returns the modules to import.
 */
export async function inspectUpload(
  source: LocalSource,
  module: CrmModuleName | null,
  requested: CrmModuleName[] | null,
  tempDir: string,
): Promise<CrmModuleName[]> {
  try {
    let modules: CrmModuleName[];
    if (source.format === 'ZIP') modules = await zipModules(source, requested ?? (module ? [module] : null));
    else if (module) modules = [module];
    else throw badInput('module', `is required with a .${source.format.toLowerCase()} file (one of ${CRM_MODULE_NAMES.join(', ')})`);
    const checked = new Set<CrmModuleName>();
    for await (const table of tablesOf(source, modules, tempDir)) {
      try {
        if (!checked.has(table.module)) planHeader(table.module, table.reader.header, table.reader.file);
        checked.add(table.module);
      } finally {
        table.reader.close();
      }
    }
    if (checked.size === 0) throw badInput('file', `${source.fileName} holds no rows, not even a header`);
    return modules;
  } catch (error) {
    if (error instanceof UnreadableFileError) throw badInput('file', error.message);
    throw error;
  }
}
