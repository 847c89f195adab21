import { Transform, type TransformCallback } from 'node:stream';
import { badInput } from '../../shared/app-error.ts';
import { CRM_MODULE_NAMES, type CrmModuleName } from '../crm/crm.modules.ts';
import type { ImportFormat } from './import-job.repository.ts';

/** The upload's format from its name (the API's only look at the file besides its first bytes, below). */
export function formatOfName(fileName: string): ImportFormat {
  const ext = /\.([a-z]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  const format = ext === 'csv' ? 'CSV' : ext === 'xlsx' ? 'XLSX' : ext === 'zip' ? 'ZIP' : undefined;
  if (!format) throw badInput('file', 'must be a .csv, .xlsx or .zip file');
  return format;
}

/** Bytes of an upload looked at in the API: enough to tell text from a binary file, nothing is parsed. */
const HEAD_BYTES = 64 * 1024;
const ZIP_MAGIC = 0x04034b50;

/**
 * Passes an upload through unchanged while confirming its format by its first bytes (an XLSX or ZIP is a ZIP
 * package; a CSV is text: no NUL byte, not a ZIP). A mismatch stops the upload with a 400 at once.
 */
export class FormatCheck extends Transform {
  private seen = 0;
  private magic = Buffer.alloc(0);
  private readonly format: ImportFormat;

  constructor(format: ImportFormat) {
    super();
    this.format = format;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.look(chunk);
      callback(null, chunk);
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    // Fewer than four bytes: a ZIP package cannot be that short (an empty CSV is refused by the route).
    if (this.format !== 'CSV' && this.magic.length < 4) return callback(this.mismatch());
    callback();
  }

  private look(chunk: Buffer): void {
    if (this.seen >= HEAD_BYTES) return;
    const head = chunk.subarray(0, HEAD_BYTES - this.seen);
    this.seen += head.length;
    if (this.magic.length < 4) {
      this.magic = Buffer.concat([this.magic, head.subarray(0, 4 - this.magic.length)]);
      if (this.magic.length === 4 && (this.magic.readUInt32LE(0) === ZIP_MAGIC) !== (this.format !== 'CSV')) throw this.mismatch();
    }
    if (this.format === 'CSV' && head.includes(0)) throw this.mismatch();
  }

  private mismatch() {
    if (this.format === 'CSV') return badInput('file', 'is not a CSV text file');
    return badInput('file', `is not a ${this.format === 'XLSX' ? 'XLSX workbook' : 'ZIP archive'}`);
  }
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
