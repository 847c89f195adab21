import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import pg from 'pg';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ArchiveProgress, type ArchiveResult, archiveFileName, buildArchive } from '../../src/export/archive-builder.ts';
import { unescapeCell } from '../../src/export/cell-escape.ts';
import { MODULE_NAMES, MODULE_SPECS, type ColumnSpec, type ModuleName } from '../../src/export/module-columns.ts';
import { decodeXlsxText } from '../../src/export/xlsx-xml.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const run = promisify(execFile);

/** Values that break naive CSV, XML or spreadsheet handling. */
const NASTY = [
  'comma, inside',
  'say "hello"',
  'two\nlines',
  'crlf\r\nlines',
  '😀 emoji 🎉',
  '日本語 中文 한국어',
  '=HYPERLINK("http://evil")',
  '+65 6123 4567',
  '-1',
  '@SUM(1)',
  "'already quoted",
  '\tleading tab',
  '\rleading cr',
  'trailing space ',
  'a & b < c > d',
  '_x0041_ not an escape',
  'bell \u0007 char',
  '\\.',
  '',
];

interface Fixture {
  orgA: { id: string; name: string };
  orgB: { id: string; name: string };
  ownerEmail: string;
}

async function seed(pool: pg.Pool): Promise<Fixture> {
  const orgA = { id: randomUUID(), name: 'Acme Café & Co.' };
  const orgB = { id: randomUUID(), name: 'Other Org' };
  const ownerA = randomUUID();
  const ownerB = randomUUID();
  const ownerEmail = 'owner+a@example.com';
  await pool.query('insert into organizations (id, name) values ($1, $2), ($3, $4)', [orgA.id, orgA.name, orgB.id, orgB.name]);
  await pool.query(
    "insert into users (id, organization_id, email, role) values ($1, $2, $3, 'ADMIN'), ($4, $5, 'secret-b@example.com', 'ADMIN')",
    [ownerA, orgA.id, ownerEmail, ownerB, orgB.id],
  );
  const at = (i: number): string => new Date(Date.UTC(2024, 0, 1, 8, 30, 15, 123) + i * 86_400_007).toISOString();
  const nasty = (i: number): string | null => (i % 7 === 6 ? null : (NASTY[i % NASTY.length] ?? null));

  const accountIds: string[] = [];
  for (let i = 0; i < NASTY.length; i++) {
    const id = randomUUID();
    accountIds.push(id);
    await pool.query(
      `insert into accounts (id, organization_id, owner_id, name, domain, industry, phone, address, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [id, orgA.id, i % 2 ? ownerA : null, NASTY[i] ?? 'x', nasty(i + 1), nasty(i + 2), nasty(i + 3), nasty(i + 4), at(i), at(i + 1)],
    );
  }
  const contactIds: string[] = [];
  for (let i = 0; i < NASTY.length + 3; i++) {
    const id = randomUUID();
    contactIds.push(id);
    await pool.query(
      `insert into contacts (id, organization_id, owner_id, first_name, last_name, email, phone, job_title, address, notes,
         account_id, created_at, updated_at, retention_ends_at, deletes_at, masked_at, legal_hold)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [id, orgA.id, i % 3 ? ownerA : null, nasty(i), nasty(i + 1), nasty(i + 2), nasty(i + 3), nasty(i + 4), nasty(i + 5),
        nasty(i + 6), i % 2 ? accountIds[i % accountIds.length] : null, at(i), at(i + 2), i % 2 ? at(i + 400) : null,
        i % 3 ? null : at(i + 500), i % 4 ? null : at(i + 3), i % 5 === 0],
    );
  }
  for (let i = 0; i < NASTY.length + 1; i++) {
    await pool.query(
      `insert into leads (organization_id, owner_id, first_name, last_name, email, phone, company, title, status, source,
         notes, created_at, updated_at, retention_ends_at, deletes_at, masked_at, legal_hold)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [orgA.id, ownerA, nasty(i + 1), nasty(i + 2), nasty(i + 3), nasty(i + 4), nasty(i + 5), nasty(i + 6), nasty(i),
        nasty(i + 7), nasty(i + 8), at(i), at(i + 5), at(i + 100), i % 2 ? at(i + 200) : null, null, i % 2 === 0],
    );
  }
  const amounts: (number | string | null)[] = [0, 1e-7, 1.7976931348623157e308, 123456789.123, null, 'Infinity', 42.5];
  for (const [i, amount] of amounts.entries()) {
    await pool.query(
      `insert into deals (organization_id, owner_id, name, amount, currency, stage, close_date, account_id, contact_id,
         created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [orgA.id, i % 2 ? ownerA : null, NASTY[i] ?? 'deal', amount, nasty(i + 3), nasty(i + 9), i % 3 ? `2025-0${(i % 9) + 1}-2${i % 9}` : null,
        accountIds[i] ?? null, i % 2 ? contactIds[i] : null, at(i), at(i + 1)],
    );
  }
  // Another tenant: none of this may ever appear in organization A's archive.
  await pool.query("insert into accounts (organization_id, owner_id, name) values ($1, $2, 'ORG-B-SECRET account')", [orgB.id, ownerB]);
  await pool.query("insert into contacts (organization_id, owner_id, first_name) values ($1, $2, 'ORG-B-SECRET')", [orgB.id, ownerB]);
  await pool.query("insert into leads (organization_id, owner_id, first_name) values ($1, $2, 'ORG-B-SECRET')", [orgB.id, ownerB]);
  await pool.query("insert into deals (organization_id, owner_id, name) values ($1, $2, 'ORG-B-SECRET deal')", [orgB.id, ownerB]);
  // A user of organization B owning an A record must not leak its email into A's archive. The owner key
  // (organization_id, owner_id) refuses such a row, so it is made with the key triggers skipped (superuser).
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('set local session_replication_role = replica');
    await client.query("update leads set owner_id = $1 where organization_id = $2 and first_name = 'two\nlines'", [ownerB, orgA.id]);
    await client.query('commit');
  } finally {
    client.release();
  }
  return { orgA, orgB, ownerEmail };
}

/** The records of a module as the database holds them, keyed by header, in export order. */
async function databaseRecords(pool: pg.Pool, module: ModuleName, organizationId: string): Promise<Record<string, unknown>[]> {
  const spec = MODULE_SPECS[module];
  const extra = module === 'DEALS' ? ', t.close_date::text as close_date' : '';
  const { rows } = await pool.query<Record<string, unknown>>(
    `select t.*${extra}, (select email from users u where u.id = t.owner_id and u.organization_id = t.organization_id) as owner_email
     from ${spec.table} t where t.organization_id = $1 order by t.created_at, t.id`,
    [organizationId],
  );
  return rows.map((row) =>
    Object.fromEntries(
      spec.columns.map((c) => {
        const value = row[c.header.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`)];
        return [c.header, value instanceof Date ? value.getTime() : value];
      }),
    ),
  );
}

async function unzipAll(file: string): Promise<Map<string, Buffer>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true }, (error, z) => (error ? reject(error) : resolve(z))),
  );
  const entries = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', resolve);
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', reject);
        stream.on('end', () => {
          entries.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
  return entries;
}

/** CSV through csv-parse: `""` is the empty string, an unquoted empty field is null; CRLF is the only record end. */
function readCsvRecords(file: Buffer, columns: readonly ColumnSpec[]): Record<string, unknown>[] {
  const rows = parse(file, {
    bom: true,
    record_delimiter: '\r\n',
    cast: (value, context) => (value === '' && !context.quoting ? null : value),
  }) as (string | null)[][];
  expect(rows[0]).toEqual(columns.map((c) => c.header));
  return rows.slice(1).map((fields) => {
    expect(fields).toHaveLength(columns.length);
    return Object.fromEntries(columns.map((c, i) => [c.header, csvValue(c, fields[i] ?? null)]));
  });
}

function csvValue(column: ColumnSpec, field: string | null): unknown {
  if (field === null) return null;
  if (column.type === 'text') return unescapeCell(field);
  if (column.type === 'date') return Date.parse(field);
  if (column.type === 'number') return Number(field);
  return field === 'true';
}

/** Every sheet of a workbook through exceljs's reader, rows after the header of each sheet. */
async function readXlsxRecords(file: Buffer, columns: readonly ColumnSpec[]): Promise<{ sheets: string[]; rows: Record<string, unknown>[] }> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(file as unknown as ArrayBuffer);
  const rows: Record<string, unknown>[] = [];
  for (const sheet of workbook.worksheets) {
    expect(sheet.getRow(1).values).toEqual([undefined, ...columns.map((c) => c.header)]);
    sheet.eachRow((row, n) => {
      row.eachCell((cell) => {
        expect(cell.type).not.toBe(ExcelJS.ValueType.Formula);
        expect(cell.formula).toBeFalsy();
      });
      if (n === 1) return;
      rows.push(Object.fromEntries(columns.map((c, i) => [c.header, xlsxValue(c, row.getCell(i + 1).value)])));
    });
  }
  return { sheets: workbook.worksheets.map((s) => s.name), rows };
}

function xlsxValue(column: ColumnSpec, value: ExcelJS.CellValue): unknown {
  if (value === null || value === undefined) return null;
  if (column.type === 'text') return decodeXlsxText(String(value)); // format 2: verbatim, no `'` guard
  if (column.type === 'date') return (value as Date).getTime();
  if (column.type === 'number') return typeof value === 'string' ? Number(value) : value;
  return value;
}

/** exceljs reads an empty inline string as no value: in its eyes '' and null are the same. */
const emptyAsNull = (records: Record<string, unknown>[]): Record<string, unknown>[] =>
  records.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === '' ? null : v])));

let tdb: TestDatabase;
let fixture: Fixture;
let dir: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  fixture = await seed(tdb.pool);
  dir = await mkdtemp(path.join(os.tmpdir(), 'archive-builder-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await tdb.drop();
});

async function build(
  name: string,
  extra: Partial<Parameters<typeof buildArchive>[0]> = {},
): Promise<{ file: string; result: ArchiveResult; entries: Map<string, Buffer> }> {
  const file = path.join(dir, name);
  const result = await buildArchive({
    connectionString: tdb.url,
    organizationId: fixture.orgA.id,
    organization: fixture.orgA,
    backupId: randomUUID(),
    trigger: 'MANUAL',
    createdAt: new Date('2025-03-04T05:06:07.089Z'),
    out: createWriteStream(file),
    ...extra,
  });
  return { file, result, entries: await unzipAll(file) };
}

describe.each([
  ['in a worker thread', false],
  ['inline', true],
])('buildArchive %s', (_label, inline) => {
  let built: Awaited<ReturnType<typeof build>>;
  const progress: ArchiveProgress[] = [];
  beforeAll(async () => {
    built = await build(`all-${inline}.zip`, { inline, onProgress: (p) => void progress.push(p) });
  });

  it('holds a CSV and an XLSX per module, then the manifest', () => {
    expect([...built.entries.keys()]).toEqual([
      'leads.csv', 'leads.xlsx', 'contacts.csv', 'contacts.xlsx', 'accounts.csv', 'accounts.xlsx', 'deals.csv', 'deals.xlsx',
      'manifest.json',
    ]);
  });

  it.each(MODULE_NAMES)('writes every %s record exactly as the database holds it', async (module) => {
    const spec = MODULE_SPECS[module];
    const expected = await databaseRecords(tdb.pool, module, fixture.orgA.id);
    expect(expected.length).toBeGreaterThan(5);
    const csv = built.entries.get(`${spec.fileBase}.csv`) as Buffer;
    expect(readCsvRecords(csv, spec.columns)).toEqual(expected);
    const xlsx = await readXlsxRecords(built.entries.get(`${spec.fileBase}.xlsx`) as Buffer, spec.columns);
    expect(xlsx.sheets).toEqual([spec.fileBase]);
    expect(xlsx.rows).toEqual(emptyAsNull(expected));
  });

  it('starts each CSV with a BOM and ends every record with CRLF', () => {
    for (const module of MODULE_NAMES) {
      const csv = built.entries.get(`${MODULE_SPECS[module].fileBase}.csv`) as Buffer;
      expect([...csv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      expect(csv.subarray(-2).toString()).toBe('\r\n');
    }
  });

  it('describes itself in manifest.json, with the size and SHA-256 of each entry', async () => {
    const manifest = JSON.parse((built.entries.get('manifest.json') as Buffer).toString()) as Record<string, unknown>;
    const counts = await Promise.all(MODULE_NAMES.map((m) => databaseRecords(tdb.pool, m, fixture.orgA.id)));
    expect(manifest).toMatchObject({
      formatVersion: 2,
      organization: fixture.orgA,
      trigger: 'MANUAL',
      createdAt: '2025-03-04T05:06:07.089Z',
      snapshotAt: built.result.snapshotAt.toISOString(),
      generator: 'crm-data-admin',
    });
    expect(manifest.modules).toEqual(
      MODULE_NAMES.map((module, i) => ({
        module,
        records: counts[i]?.length,
        files: ['csv', 'xlsx'].map((ext) => {
          const name = `${MODULE_SPECS[module].fileBase}.${ext}`;
          const content = built.entries.get(name) as Buffer;
          return { name, bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') };
        }),
      })),
    );
    expect(built.result.modules).toEqual(manifest.modules);
    const zip = await readFile(built.file);
    expect(built.result.sizeBytes).toBe(zip.length);
    expect(built.result.sha256).toBe(createHash('sha256').update(zip).digest('hex'));
  });

  it('reports progress from 0 to the total of each module', () => {
    for (const module of MODULE_NAMES) {
      const mine = progress.filter((p) => p.module === module);
      const total = (built.result.modules.find((m) => m.module === module)?.records ?? -1);
      expect(mine[0]).toEqual({ module, processedRecords: 0, totalRecords: total });
      expect(mine.at(-1)).toEqual({ module, processedRecords: total, totalRecords: total });
    }
  });
});

describe('buildArchive, checked by other tools', () => {
  let built: Awaited<ReturnType<typeof build>>;
  beforeAll(async () => {
    built = await build('tools.zip');
  });

  it('passes `unzip -t`', async () => {
    const { stdout } = await run('unzip', ['-t', built.file]);
    expect(stdout).toMatch(/No errors detected/);
  });

  it("reads with Python's zipfile and csv modules: CRCs, BOM, columns and records", async () => {
    const script = `
import csv, io, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
out = {"bad": z.testzip(), "infos": [[i.filename, i.compress_type] for i in z.infolist()], "csv": {}}
for name in z.namelist():
    if name.endswith(".csv"):
        raw = z.read(name)
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), strict=True))
        out["csv"][name] = {"bom": raw[:3] == b"\\xef\\xbb\\xbf", "rows": rows}
print(json.dumps(out))
`;
    const { stdout } = await run('python3', ['-c', script, built.file], { maxBuffer: 64 << 20 });
    const out = JSON.parse(stdout) as { bad: string | null; infos: [string, number][]; csv: Record<string, { bom: boolean; rows: string[][] }> };
    expect(out.bad).toBeNull();
    const DEFLATED = 8;
    const STORED = 0;
    for (const [name, method] of out.infos) expect([name, method]).toEqual([name, name.endsWith('.xlsx') ? STORED : DEFLATED]);
    for (const module of MODULE_NAMES) {
      const spec = MODULE_SPECS[module];
      const parsed = out.csv[`${spec.fileBase}.csv`];
      expect(parsed?.bom).toBe(true);
      const expected = await databaseRecords(tdb.pool, module, fixture.orgA.id);
      expect(parsed?.rows[0]).toEqual(spec.columns.map((c) => c.header));
      // Python's csv reads null and '' alike; text values must match after removing the injection guard.
      const texts = spec.columns.flatMap((c, i) => (c.type === 'text' ? [i] : []));
      expect(parsed?.rows.slice(1).map((r) => texts.map((i) => unescapeCell(r[i] ?? '')))).toEqual(
        expected.map((r) => texts.map((i) => String(r[spec.columns[i]?.header ?? ''] ?? ''))),
      );
    }
  });

  it("has well-formed XLSX packages by Python's zipfile and ElementTree: no formulas, one row per record", async () => {
    const script = `
import io, json, sys, zipfile
import xml.etree.ElementTree as ET
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
outer = zipfile.ZipFile(sys.argv[1])
out = {}
for name in outer.namelist():
    if not name.endswith(".xlsx"):
        continue
    inner = zipfile.ZipFile(io.BytesIO(outer.read(name)))
    info = {"bad": inner.testzip(), "parts": inner.namelist(), "sheets": {}}
    for part in inner.namelist():
        root = ET.fromstring(inner.read(part))  # raises on malformed XML
        if part.startswith("xl/worksheets/"):
            cells = list(root.iter(NS + "c"))
            info["sheets"][part] = {
                "rows": len(list(root.iter(NS + "row"))),
                "formulas": len(list(root.iter(NS + "f"))),
                "types": sorted({c.get("t") or "n" for c in cells}),
                "unreferenced": sum(1 for c in cells if not c.get("r")),
            }
    out[name] = info
print(json.dumps(out))
`;
    const { stdout } = await run('python3', ['-c', script, built.file], { maxBuffer: 64 << 20 });
    const out = JSON.parse(stdout) as Record<string, { bad: null; parts: string[]; sheets: Record<string, { rows: number; formulas: number; types: string[]; unreferenced: number }> }>;
    for (const module of MODULE_NAMES) {
      const records = built.result.modules.find((m) => m.module === module)?.records;
      const xlsx = out[`${MODULE_SPECS[module].fileBase}.xlsx`];
      expect(xlsx?.bad).toBeNull();
      expect(xlsx?.parts).toEqual(expect.arrayContaining(['[Content_Types].xml', '_rels/.rels', 'xl/workbook.xml', 'xl/styles.xml']));
      const sheet = xlsx?.sheets['xl/worksheets/sheet1.xml'];
      expect(sheet).toMatchObject({ rows: (records ?? -1) + 1, formulas: 0, unreferenced: 0 });
      for (const type of sheet?.types ?? []) expect(['inlineStr', 'b', 'n']).toContain(type);
    }
  });

  it('never contains another organization', async () => {
    const texts = [...built.entries.entries()].map(([name, content]) => ({ name, text: content.toString() }));
    for (const [name, content] of built.entries) {
      if (name.endsWith('.xlsx')) {
        const inner = path.join(dir, `inner-${name}`);
        await import('node:fs/promises').then((fs) => fs.writeFile(inner, content));
        for (const [part, partContent] of await unzipAll(inner)) texts.push({ name: `${name}/${part}`, text: partContent.toString() });
      }
    }
    const ids = await tdb.pool.query<{ id: string }>(
      'select id from leads where organization_id = $1 union all select id from contacts where organization_id = $1 ' +
        'union all select id from accounts where organization_id = $1 union all select id from deals where organization_id = $1',
      [fixture.orgB.id],
    );
    for (const { name, text } of texts) {
      expect(text, name).not.toContain('ORG-B-SECRET');
      expect(text, name).not.toContain('secret-b@example.com');
      for (const { id } of ids.rows) expect(text, name).not.toContain(id);
    }
  });
});

describe('buildArchive with a small sheet limit', () => {
  it('continues a module on "contacts (2)", "contacts (3)" …', async () => {
    const built = await build('small-sheets.zip', { xlsxRowLimit: 5, modules: ['CONTACTS', 'DEALS'] });
    expect([...built.entries.keys()]).toEqual(['contacts.csv', 'contacts.xlsx', 'deals.csv', 'deals.xlsx', 'manifest.json']);
    const expected = await databaseRecords(tdb.pool, 'CONTACTS', fixture.orgA.id);
    const xlsx = await readXlsxRecords(built.entries.get('contacts.xlsx') as Buffer, MODULE_SPECS.CONTACTS.columns);
    const sheets = Math.ceil(expected.length / 5);
    expect(xlsx.sheets).toEqual(['contacts', ...Array.from({ length: sheets - 1 }, (_v, i) => `contacts (${i + 2})`)]);
    expect(xlsx.rows).toEqual(emptyAsNull(expected));
  });
});

describe('buildArchive reads one snapshot', () => {
  it('leaves out rows committed after the export began', async () => {
    const before = await Promise.all(MODULE_NAMES.map((m) => databaseRecords(tdb.pool, m, fixture.orgA.id)));
    const late = { lead: randomUUID(), contact: randomUUID(), deal: randomUUID() };
    const accountNames = await tdb.pool.query<{ id: string; name: string }>('select id, name from accounts');
    let inserted = false;
    const built = await build('snapshot.zip', {
      onProgress: async (p) => {
        if (inserted || p.module !== 'LEADS') return;
        inserted = true;
        // Another connection, committed while the first module is being exported: later modules are read after it.
        await tdb.pool.query("insert into leads (id, organization_id, first_name) values ($1, $2, 'LATE')", [late.lead, fixture.orgA.id]);
        await tdb.pool.query("insert into contacts (id, organization_id, first_name) values ($1, $2, 'LATE')", [late.contact, fixture.orgA.id]);
        await tdb.pool.query("insert into deals (id, organization_id, name) values ($1, $2, 'LATE')", [late.deal, fixture.orgA.id]);
        await tdb.pool.query("update accounts set name = 'CHANGED LATE' where organization_id = $1", [fixture.orgA.id]);
      },
    });
    try {
      expect(inserted).toBe(true);
      // The late writes did land: the database now differs from the snapshot in every module.
      const after = await Promise.all(MODULE_NAMES.map((m) => databaseRecords(tdb.pool, m, fixture.orgA.id)));
      for (const [i, rows] of after.entries()) expect(rows).not.toEqual(before[i]);
      expect(built.result.modules.map((m) => m.records)).toEqual(before.map((rows) => rows.length));
      for (const [i, module] of MODULE_NAMES.entries()) {
        const spec = MODULE_SPECS[module];
        expect(readCsvRecords(built.entries.get(`${spec.fileBase}.csv`) as Buffer, spec.columns)).toEqual(before[i]);
        // An XLSX is a zip of deflated XML parts, so a text search of its bytes finds nothing: read its cells.
        const xlsx = await readXlsxRecords(built.entries.get(`${spec.fileBase}.xlsx`) as Buffer, spec.columns);
        expect(xlsx.rows).toEqual(emptyAsNull(before[i]!));
      }
    } finally {
      await tdb.pool.query('delete from leads where id = $1', [late.lead]);
      await tdb.pool.query('delete from deals where id = $1', [late.deal]);
      await tdb.pool.query('delete from contacts where id = $1', [late.contact]);
      for (const { id, name } of accountNames.rows) await tdb.pool.query('update accounts set name = $1 where id = $2', [name, id]);
    }
  });
});

describe('archiveFileName', () => {
  it('slugs the organization and stamps the UTC time', () => {
    const at = new Date('2025-01-02T03:04:05.678Z');
    expect(archiveFileName('Acme Café & Co.', at)).toBe('crm-backup-acme-cafe-co-20250102T030405Z.zip');
    expect(archiveFileName('  日本  ', at)).toBe('crm-backup-organization-20250102T030405Z.zip');
  });
});
