import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { columnName, incompressible, xlsxOf, zipOf } from '../support/hostile-files.ts';
import { csvOf, importJobRows, upload, waitForImport, type ImportJobView, type UploadOptions } from '../support/restore-helpers.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const MiB = 1024 ** 2;
const MAX_BYTES = 64 * MiB;
/** Growth of this process's RSS (server, parser thread and test client together) allowed during one attack. */
const RSS_GROWTH_BOUND = 320 * MiB;

/**
 * The import attacks of issue 9, each as a crafted file against a running server (role all: the API and the job
 * worker in this process, as `npm start` runs them). Each is refused (413) or ends its job FAILED with a message
 * naming the limit, while /healthz still answers, the process's memory stays bounded, and no temporary file or
 * stored upload is left behind.
 */
describe('hostile import files', () => {
  let t: TestApp;
  let org: TestOrg;
  let storage: string;
  let tempDir: string;
  beforeAll(async () => {
    storage = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-bombs-store-'));
    tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-bombs-tmp-'));
    t = await startTestApp({
      role: 'all',
      env: {
        STORAGE_DIR: storage,
        IMPORT_MAX_BYTES: String(MAX_BYTES),
        IMPORT_WORKER_MEMORY_MB: '64',
        IMPORT_MAX_ENTRY_BYTES: String(32 * MiB),
        IMPORT_MAX_SHARED_STRINGS_BYTES: String(MiB),
        IMPORT_MAX_ZIP_ENTRIES: '100',
      },
      overrides: { imports: { tempDir } },
    });
    org = await createOrg(t.app);
  });
  afterAll(async () => {
    await t.close();
    await fs.rm(storage, { recursive: true, force: true });
    await fs.rm(tempDir, { recursive: true, force: true });
  });

  const storedUploads = async (): Promise<string[]> =>
    (await fs.readdir(path.join(storage, 'imports'), { recursive: true }).catch(() => [] as string[])).filter((f) => f.includes('.'));

  /** Samples RSS while `work` runs; resolves with the peak growth over the RSS just before. */
  async function rssGrowthDuring<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
    const before = process.memoryUsage.rss();
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
    try {
      const result = await work();
      return { result, growth: Math.max(peak, process.memoryUsage.rss()) - before };
    } finally {
      clearInterval(timer);
    }
  }

  async function expectFailed(opts: UploadOptions, message: RegExp): Promise<ImportJobView> {
    // Answering before the attack also gives the client a fresh keep-alive connection. Client and server share this
    // process: while it builds a large body, neither's timers run, and a socket the server then closes as idle
    // (keep-alive timeout) can be reset under the upload, which a separate client process would not see.
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const { result: job, growth } = await rssGrowthDuring(async () => {
      const res = await upload(t.url, org.admin.token, opts).catch((e: Error) => { throw new Error(`upload: ${String(e.cause)}`); });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      return waitForImport(t, org.admin.token, res.body.importId!, 120_000);
    });
    expect(job.status).toBe('FAILED');
    expect(job.error).toMatch(message);
    expect(job.error!.length).toBeLessThan(400); // names the limit; never repeats the input
    expect(job.created + job.updated).toBe(0);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect(growth).toBeLessThan(RSS_GROWTH_BOUND);
    expect(await fs.readdir(tempDir)).toEqual([]);
    expect(await storedUploads()).toEqual([]);
    return job;
  }

  it('fails the 1.4 KB XLSX whose only cell is r="GAAAAA1" (column 83,644,886) as outside a worksheet', async () => {
    const file = await xlsxOf('<row r="1"><c r="GAAAAA1" t="inlineStr"><is><t>x</t></is></c></row>');
    expect(file.length).toBeLessThan(2048);
    await expectFailed({ file: { data: file, name: 'contacts.xlsx' }, module: 'CONTACTS' }, /cell reference GAAAAA1, outside a worksheet/);
  });

  it('fails a worksheet with a cell beyond IMPORT_MAX_COLUMNS (512) but inside the sheet grid', async () => {
    const file = await xlsxOf(`<row r="1"><c r="${columnName(600)}1" t="inlineStr"><is><t>x</t></is></c></row>`);
    await expectFailed({ file: { data: file, name: 'contacts.xlsx' }, module: 'CONTACTS' }, /more than 512 columns, the limit IMPORT_MAX_COLUMNS/);
  });

  it('fails an XLSX whose shared strings are over IMPORT_MAX_SHARED_STRINGS_BYTES before holding them', async () => {
    const strings = Array.from({ length: 30_000 }, () => `<si><t>${incompressible(64)}</t></si>`).join('');
    const file = await xlsxOf('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', { sharedStrings: `<sst>${strings}</sst>` });
    await expectFailed({ file: { data: file, name: 'contacts.xlsx' }, module: 'CONTACTS' }, /shared strings, more than the limit IMPORT_MAX_SHARED_STRINGS_BYTES/);
  });

  it('fails a backup ZIP whose manifest.json is over IMPORT_MAX_MANIFEST_BYTES before reading it', async () => {
    const manifest = `{"formatVersion":1,"pad":"${incompressible(2 * MiB)}"}`;
    const file = await zipOf({ 'manifest.json': manifest, 'leads.csv': csvOf('LEADS', []) });
    await expectFailed({ file: { data: file, name: 'backup.zip' } }, /manifest\.json of .*, more than the limit IMPORT_MAX_MANIFEST_BYTES/);
  });

  it('fails an XLSX inside a ZIP that would unpack beyond IMPORT_MAX_ENTRY_BYTES before extracting it', async () => {
    const file = await zipOf({ 'contacts.xlsx': Buffer.alloc(40 * MiB) });
    await expectFailed({ file: { data: file, name: 'backup.zip' } }, /entry contacts\.xlsx unpacks to 40 MiB, more than the limit IMPORT_MAX_ENTRY_BYTES/);
  });

  it('fails a zip bomb entry (compressed ~1000:1) on IMPORT_MAX_COMPRESSION_RATIO', async () => {
    const header = csvOf('LEADS', []);
    const file = await zipOf({ 'leads.csv': Buffer.concat([header, Buffer.alloc(20 * MiB, 'a')]) });
    expect(file.length).toBeLessThan(200_000);
    await expectFailed({ file: { data: file, name: 'backup.zip' } }, /entry leads\.csv is compressed \d+:1, more than the limit IMPORT_MAX_COMPRESSION_RATIO \(200\)/);
  });

  it('fails a ZIP of more entries than IMPORT_MAX_ZIP_ENTRIES', async () => {
    const entries: Record<string, string> = { 'leads.csv': csvOf('LEADS', []).toString() };
    for (let i = 0; i < 150; i++) entries[`junk/${i}.txt`] = 'x';
    const file = await zipOf(entries);
    await expectFailed({ file: { data: file, name: 'backup.zip' } }, /holds 151 ZIP entries, more than the limit IMPORT_MAX_ZIP_ENTRIES \(100\)/);
  });

  it('fails a CSV with one 50 MB field on IMPORT_MAX_RECORD_BYTES, quoting none of it', async () => {
    const header = csvOf('CONTACTS', []).toString().trimEnd();
    const data = Buffer.concat([Buffer.from(`${header}\r\n"${randomUUID()}","`), Buffer.alloc(50 * MiB, 'x'), Buffer.from('"\r\n')]);
    const job = await expectFailed({ file: { data, name: 'contacts.csv' }, module: 'CONTACTS' }, /has a record longer than 1048576 characters, the limit IMPORT_MAX_RECORD_BYTES/);
    expect(job.error).not.toContain('xxxxxxxxxx');
  });

  it('fails the job, not the process, when a file defeats every cap and exhausts the parser thread\'s heap (IMPORT_WORKER_MEMORY_MB)', async () => {
    // 600,000 nested elements, each small and hard to compress: no cap applies, but the XML parser keeps a stack entry per open element.
    const depth = 600_000;
    const open = Array.from({ length: depth }, () => `<x a="${randomBytes(4).toString('hex')}">`).join('');
    const sheet = `<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${open}</sheetData></worksheet>`;
    const file = await xlsxOf(Buffer.from(sheet));
    await expectFailed({ file: { data: file, name: 'contacts.xlsx' }, module: 'CONTACTS' }, /needs more memory to read than the limit IMPORT_WORKER_MEMORY_MB \(64 MB\)/);
  });

  it('answers 413 to a chunked upload as soon as it crosses IMPORT_MAX_BYTES, without reading it to its end', async () => {
    const jobsBefore = await importJobRows(t.app.services.pool);
    const { status, sent } = await chunkedUpload(t.url, org.admin.token, 1024 ** 3);
    expect(status).toBe(413);
    // The server reads at most 8 MB past the refusal (API.md §6); the rest is socket buffers.
    expect(sent).toBeLessThan(MAX_BYTES + 8 * MiB + 32 * MiB);
    expect(await importJobRows(t.app.services.pool)).toBe(jobsBefore);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect(await storedUploads()).toEqual([]);
  });
});

/**
 * POST /imports with Transfer-Encoding: chunked (no Content-Length, so no early refusal by size): sends a CSV
 * part of up to `limit` bytes, 64 KiB at a time, until the answer arrives. Resolves with its status and the bytes sent.
 */
function chunkedUpload(url: string, token: string, limit: number): Promise<{ status: number; sent: number }> {
  const boundary = `----${randomUUID()}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="module"\r\n\r\nCONTACTS\r\n--${boundary}\r\n`
    + 'Content-Disposition: form-data; name="file"; filename="contacts.csv"\r\nContent-Type: text/csv\r\n\r\nid\r\n';
  const chunk = Buffer.alloc(64 * 1024, 'a');
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request(`${url}/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'x-requested-with': 'test' },
    });
    req.on('response', (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode ?? 0, sent });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.write(head);
    const pump = (): void => {
      while (!answered && sent < limit) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

describe('what interrupted imports leave behind', () => {
  it('is swept when a worker starts: temp folders of dead processes, uploads of finished imports (live ones kept)', async () => {
    const storage = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-sweep-store-'));
    const tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-sweep-tmp-'));
    const api = await startTestApp({ role: 'api', env: { STORAGE_DIR: storage } });
    try {
      const org = await createOrg(api.app);
      const host = os.hostname().replace(/[^A-Za-z0-9]/g, '_');
      const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
      const dead = path.join(tempDir, `crm-import-${host}-${deadPid}-abcdef`);
      const live = path.join(tempDir, `crm-import-${host}-${process.pid}-ghijkl`);
      for (const dir of [dead, live]) {
        await fs.mkdir(dir);
        await fs.writeFile(path.join(dir, 'source.csv'), 'id\n');
      }
      const blobs = api.app.services.storage;
      const keyOf = (id: string) => `imports/${org.organizationId}/${id}.csv`;
      const [finished, pending] = [randomUUID(), randomUUID()];
      for (const [id, status] of [[finished, 'FAILED'], [pending, 'PENDING']] as const) {
        await blobs.put(keyOf(id), Readable.from([Buffer.from('id\n')]));
        await api.app.services.pool.query(
          `insert into import_jobs (id, organization_id, source_kind, source_key, format, status, finished_at)
           values ($1, $2, 'UPLOAD', $3, 'CSV', $4, case when $4 = 'FAILED' then now() end)`,
          [id, org.organizationId, keyOf(id), status],
        );
      }
      const worker = await startTestApp({ db: api.db, role: 'worker', env: { STORAGE_DIR: storage }, overrides: { imports: { tempDir } } });
      await worker.close();
      expect(await fs.readdir(tempDir)).toEqual([path.basename(live)]);
      expect(await blobs.stat(keyOf(finished))).toBeUndefined();
      expect(await blobs.stat(keyOf(pending))).toBeDefined();
    } finally {
      await api.close();
      await fs.rm(storage, { recursive: true, force: true });
      await fs.rm(tempDir, { recursive: true, force: true });
    }
  });
});
