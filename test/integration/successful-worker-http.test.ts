import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { REPO } from '../support/cli.ts';
import { COMPILED_ENTRY, ensureBuilt } from '../support/compiled-build.ts';
import { scrape, valueOf } from '../support/metrics-helpers.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const TRACE_HOOK = path.join(REPO, 'test/support/module-trace.mjs');

/** Resolves with the URL the process logged once it listens (the "started" log line, JSON on stderr). */
function startedUrl(child: ChildProcess, timeoutMs: number): Promise<string> {
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up line in ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const line = err.split('\n').find((l) => l.includes('crm-data-admin started'));
      if (!line) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
  });
}

/**
 * `serve --role worker` as deployed (compiled, through no TypeScript loader): it listens on PORT for the
 * orchestrator and Prometheus only, and never loads the API's machinery.
 */
describe('a worker process on PORT', () => {
  let db: TestDatabase;
  let dir: string;
  let child: ChildProcess;
  let url: string;
  let trace: string;

  beforeAll(async () => {
    [db, dir] = await Promise.all([createTestDatabase(), fs.mkdtemp(path.join(os.tmpdir(), 'worker-http-')), ensureBuilt()]);
    trace = path.join(dir, 'modules.txt');
    child = spawn(process.execPath, ['--import', TRACE_HOOK, COMPILED_ENTRY, 'serve', '--role', 'worker'], {
      cwd: REPO,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        DATABASE_URL: db.url,
        DATA_DIR: dir,
        APP_SECRET: 'worker-http-secret-0123456789abcdef0123',
        PORT: '0',
        LOG_LEVEL: 'info',
        MODULE_TRACE_FILE: trace,
      },
    });
    url = await startedUrl(child, 30_000);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true, database: true, migrations: true });
    const { status, samples, body } = await scrape(url);
    expect(status).toBe(200);
    expect(body).toContain('# TYPE crm_data_admin_jobs_finished_total counter');
    expect(valueOf(samples, 'crm_data_admin_job_queue_depth', { queue: 'backup', state: 'active' })).toBe(0);
    expect(valueOf(samples, 'crm_data_admin_websocket_connections')).toBe(0);
    expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(valueOf(samples, 'crm_data_admin_http_request_duration_seconds_count', { method: 'GET', route: '/healthz', status_code: '200' })).toBe(1);
  });

  it('answers 404 to GraphQL, GraphiQL, imports and downloads, and refuses a WebSocket', async () => {
    const post = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ viewer { id } }"}' });
    expect(post.status).toBe(404);
    expect(await post.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('/metrics') } });
    expect((await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } })).status).toBe(404);
    expect((await fetch(`${url}/imports`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${url}/downloads/backups/00000000-0000-0000-0000-000000000000`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(404);
    const opened = await new Promise<boolean>((resolve) => {
      const socket = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
      socket.once('open', () => {
        socket.close();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    expect(opened).toBe(false);
  });

  it('loads neither Express, Apollo, graphql-ws, ws nor GraphiQL', async () => {
    const loaded = await fs.readFile(trace, 'utf8');
    expect(loaded).toContain('/dist/http/ops-server.js');
    expect(loaded).toContain('/node_modules/pg-boss/');
    for (const heavy of ['/node_modules/express/', '/node_modules/@apollo/server/', '/node_modules/@as-integrations/', '/node_modules/graphql-ws/', '/node_modules/ws/', '/node_modules/@graphql-yoga/render-graphiql/', '/dist/http/app.js', '/dist/graphql/schema.js']) {
      expect(loaded, heavy).not.toContain(heavy);
    }
  });

  it('stops on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
