import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildArchiveOptions, buildArchive } from '../../src/export/archive-builder.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let tdb: TestDatabase;
let orgId: string;
let dir: string;
/** Where each build keeps its temporary XLSX files: must be empty again after any failure. */
let tempDir: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  orgId = randomUUID();
  await tdb.pool.query("insert into organizations (id, name) values ($1, 'Big Org')", [orgId]);
  // Enough rows that an export is still running when the tests interfere with it.
  await tdb.pool.query(
    `insert into contacts (organization_id, first_name, last_name, email, notes, created_at)
     select $1, 'First ' || g, 'Last, ' || g, 'p' || g || '@example.com', repeat('note ', 20), now() - g * interval '1 second'
     from generate_series(1, 40000) g`,
    [orgId],
  );
  await tdb.pool.query("insert into leads (organization_id, first_name) select $1, 'L' || g from generate_series(1, 20000) g", [orgId]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'archive-failures-test-'));
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'archive-failures-temp-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(tempDir, { recursive: true, force: true });
  await tdb.drop();
});

function options(out: NodeJS.WritableStream, extra: Partial<BuildArchiveOptions> = {}): BuildArchiveOptions {
  return {
    connectionString: tdb.url,
    organizationId: orgId,
    organization: { id: orgId, name: 'Big Org' },
    backupId: randomUUID(),
    trigger: 'SCHEDULED',
    createdAt: new Date(),
    out,
    tempDir,
    ...extra,
  };
}

const fileOut = (): WriteStream => createWriteStream(path.join(dir, `${randomUUID()}.zip`));

/** The export's own connections are gone (the server may take a moment to notice a dropped socket). */
async function expectNoExportConnections(): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const { rows } = await tdb.pool.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'crm-data-admin backup'",
    );
    if (rows[0]?.n === 0) return;
    if (Date.now() > deadline) throw new Error(`${rows[0]?.n} export connections still open`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function expectCleanedUp(out: { destroyed: boolean }): Promise<void> {
  expect(out.destroyed).toBe(true);
  expect(await readdir(tempDir)).toEqual([]);
  await expectNoExportConnections();
}

describe.each([
  ['in a worker thread', false],
  ['inline', true],
])('buildArchive failures %s', (_label, inline) => {
  it('rejects promptly when aborted mid-export, and tears everything down', async () => {
    const controller = new AbortController();
    const out = fileOut();
    let abortedAt = 0;
    const building = buildArchive(
      options(out, {
        inline,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.module === 'CONTACTS' && p.processedRecords >= 10_000 && !abortedAt) {
            abortedAt = performance.now();
            controller.abort(new Error('user pressed stop'));
          }
        },
      }),
    );
    await expect(building).rejects.toThrow('user pressed stop');
    expect(performance.now() - abortedAt).toBeLessThan(1_000);
    await expectCleanedUp(out);
  });

  it('rejects when already aborted, before touching anything', async () => {
    const out = fileOut();
    await expect(buildArchive(options(out, { inline, signal: AbortSignal.abort(new Error('too late')) }))).rejects.toThrow('too late');
    expect(await readdir(tempDir)).toEqual([]);
    expect(out.destroyed).toBe(true);
  });

  // At different points: during the first CSV, around the first XLSX copy, in a later module.
  it.each([100_000, 400_000, 3_000_000])('rejects with the error of an output failing after %d bytes (disk full)', async (limit) => {
    let written = 0;
    const out = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        callback(written > limit ? Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }) : null);
      },
    });
    await expect(buildArchive(options(out, { inline }))).rejects.toThrow('ENOSPC');
    await expectCleanedUp(out);
  });

  it('rejects when the database connection is lost mid-export', async () => {
    const out = fileOut();
    const building = buildArchive(
      options(out, {
        inline,
        onProgress: async (p) => {
          if (p.module === 'CONTACTS' && p.processedRecords >= 5_000) {
            await tdb.pool.query(
              "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'crm-data-admin backup' and datname = current_database()",
            );
          }
        },
      }),
    );
    await expect(building).rejects.toThrow(/terminat|Connection|connection/);
    await expectCleanedUp(out);
  });

  it('rejects with the error of a failing progress listener', async () => {
    const out = fileOut();
    const building = buildArchive(
      options(out, {
        inline,
        onProgress: (p) => {
          if (p.processedRecords > 0) throw new Error('progress store is down');
        },
      }),
    );
    await expect(building).rejects.toThrow('progress store is down');
    await expectCleanedUp(out);
  });

  it('rejects when the database cannot be reached', async () => {
    const out = fileOut();
    const url = new URL(tdb.url);
    url.pathname = '/no_such_database_here';
    await expect(buildArchive(options(out, { inline, connectionString: url.toString() }))).rejects.toThrow(/does not exist/);
    await expectCleanedUp(out);
  });
});

describe('buildArchive arguments', () => {
  it.each([
    [{ modules: ['LEADS', 'NOTES'] as never }, /unknown module NOTES/],
    [{ modules: ['LEADS', 'LEADS'] as never }, /listed twice/],
    [{ organization: { id: randomUUID(), name: 'x' } }, /differs from organizationId/],
    [{ createdAt: new Date('nope') }, /createdAt/],
    [{ xlsxRowLimit: 0 }, /xlsxRowLimit must be an integer from 1 to 1048575/],
    [{ xlsxRowLimit: 1_048_576 }, /xlsxRowLimit/],
  ])('refuses %j, and closes `out`', async (extra, message) => {
    const out = fileOut();
    await expect(buildArchive(options(out, extra))).rejects.toThrow(message);
    expect(out.destroyed).toBe(true);
  });

  it('refuses an organization id that is not a UUID (it is written into the COPY statement)', async () => {
    const out = fileOut();
    const bad = "x'; drop table contacts; --";
    await expect(buildArchive(options(out, { organizationId: bad, organization: { id: bad, name: 'x' } }))).rejects.toThrow(/not a UUID/);
    await expectCleanedUp(out);
  });
});

describe('buildArchive temporary files', () => {
  it('sweeps the directories of dead processes on this host, and no others', async () => {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'archive-sweep-test-'));
    try {
      const host = os.hostname().replace(/[^A-Za-z0-9]/g, '_');
      const deadPid = spawnSync(process.execPath, ['-e', '']).pid; // has exited by now
      const dirs = {
        dead: `crm-backup-${host}-${deadPid}-abc123`,
        alive: `crm-backup-${host}-1-abc123`, // pid 1 always runs
        otherHost: `crm-backup-elsewhere-${deadPid}-abc123`,
        unrelated: 'crm-backup-notes',
      };
      for (const dir of Object.values(dirs)) {
        await mkdir(path.join(parent, dir));
        await writeFile(path.join(parent, dir, 'contacts.xlsx'), 'x');
      }
      const out = fileOut();
      await buildArchive(options(out, { tempDir: parent, modules: ['ACCOUNTS'] }));
      expect((await readdir(parent)).sort()).toEqual([dirs.alive, dirs.otherHost, dirs.unrelated].sort());
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
