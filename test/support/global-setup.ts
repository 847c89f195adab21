import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.ts';
import { databaseUrl, withAdminClient } from '../../src/db/admin.ts';
import { runMigrations } from '../../src/db/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    testDb: { adminUrl: string; template: string; runId: string };
  }
}

/**
 * One PostgreSQL for the run: TEST_DATABASE_URL when set (e.g. the system server), else an embedded server
 * under the OS temp dir. A template database with every migration applied is made once; each test file
 * clones it into a database of its own (test/support/test-database.ts), so no test sees another's rows.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  let embedded: EmbeddedDatabase | undefined;
  let tempDir: string | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-data-admin-test-'));
    await fs.chmod(tempDir, 0o711); // the postgres user must reach the cluster inside
    embedded = await startEmbeddedPostgres({
      dir: tempDir,
      database: 'postgres',
      fast: true,
      log: pino({ level: 'warn' }),
    });
    adminUrl = embedded.url;
  }
  const template = `crm_test_tpl_${runId}`;
  await withAdminClient(adminUrl, (c) => c.query(`create database "${template}"`));
  const pool = new pg.Pool({ connectionString: databaseUrl(adminUrl, template), max: 1 });
  await runMigrations(pool);
  await pool.end();
  project.provide('testDb', { adminUrl, template, runId });

  return async () => {
    await dropRunDatabases(adminUrl, runId);
    await embedded?.stop();
    if (tempDir) await fs.rm(tempDir, { recursive: true, force: true });
  };
}

/** Drops only this run's databases: other runs (CI, a developer's watch mode) may share the server. */
async function dropRunDatabases(adminUrl: string, runId: string): Promise<void> {
  await withAdminClient(adminUrl, async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      'select datname from pg_database where starts_with(datname, $1) or starts_with(datname, $2)',
      [`crm_test_${runId}_`, `crm_test_tpl_${runId}`],
    );
    for (const { datname } of rows) await c.query(`drop database if exists "${datname}" with (force)`);
  });
}
