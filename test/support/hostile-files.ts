import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { ZipWriter } from '../../src/export/zip-writer.ts';

/**
 * Crafted files for the import attacks of issue 9, built in memory: a ZIP of given entries, and a minimal XLSX
 * package (workbook, relationships, one sheet, optional shared strings) around a sheet's XML.
 */

export async function zipOf(entries: Record<string, Buffer | string>, level = 9): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const zip = new ZipWriter(out, { level, date: new Date(Date.UTC(2026, 0, 1)) });
  for (const [name, data] of Object.entries(entries)) zip.appendBuffer(name, typeof data === 'string' ? Buffer.from(data) : data);
  await zip.finalize();
  return Buffer.concat(chunks);
}

const NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

export async function xlsxOf(sheetData: string | Buffer, opts: { sharedStrings?: Buffer | string } = {}): Promise<Buffer> {
  const rels = [`<Relationship Id="rId1" Type="${REL}/worksheet" Target="worksheets/sheet1.xml"/>`];
  if (opts.sharedStrings !== undefined) rels.push(`<Relationship Id="rId2" Type="${REL}/sharedStrings" Target="sharedStrings.xml"/>`);
  const entries: Record<string, Buffer | string> = {
    '_rels/.rels': `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    'xl/workbook.xml': `<?xml version="1.0"?><workbook xmlns="${NS}" xmlns:r="${REL}"><sheets><sheet name="contacts" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    'xl/_rels/workbook.xml.rels': `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${rels.join('')}</Relationships>`,
    'xl/worksheets/sheet1.xml': typeof sheetData === 'string' ? `<?xml version="1.0"?><worksheet xmlns="${NS}"><sheetData>${sheetData}</sheetData></worksheet>` : sheetData,
  };
  if (opts.sharedStrings !== undefined) entries['xl/sharedStrings.xml'] = opts.sharedStrings;
  return zipOf(entries);
}

/** Column letters of a zero-based index (0 → A, 16383 → XFD). */
export function columnName(index: number): string {
  let name = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}

/** Text that deflate cannot shrink much (hex of random bytes: about 2:1), so a ratio cap does not fire first. */
export const incompressible = (chars: number): string => randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars);
