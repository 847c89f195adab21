import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.ts';

/*
 * `serve` starts loading its modules when the embedded PostgreSQL reports that it runs (onLaunch): once per start,
 * before the server is ready, on a first run (initdb) and on a later one; never when it joins a running server.
 */
describe('embedded PostgreSQL reports its launch', () => {
  let dir: string;
  const log = pino({ level: 'silent' });
  const started: EmbeddedDatabase[] = [];

  /** Starts the server in `dir`; returns how often onLaunch ran, and whether all of that was before it was ready. */
  const start = async (): Promise<{ launches: number; beforeReady: boolean; server: EmbeddedDatabase }> => {
    let launches = 0;
    let ready = false;
    let beforeReady = true;
    const server = await startEmbeddedPostgres({
      dir, log, fast: true, onLaunch: () => {
        launches++;
        if (ready) beforeReady = false;
      },
    });
    ready = true;
    started.push(server);
    return { launches, beforeReady, server };
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'embedded-launch-'));
    await fs.chmod(dir, 0o711); // the postgres user must reach the cluster inside (when run as root)
  });
  afterAll(async () => {
    for (const server of started.reverse()) await server.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('once, before it is ready, on the first run (initdb) and on a later run', { timeout: 60_000 }, async () => {
    const first = await start();
    expect({ launches: first.launches, beforeReady: first.beforeReady }).toEqual({ launches: 1, beforeReady: true });
    await first.server.stop();
    started.pop();
    const later = await start();
    expect({ launches: later.launches, beforeReady: later.beforeReady }).toEqual({ launches: 1, beforeReady: true });
  });

  it('not at all when it joins a server that is already running', async () => {
    const joined = await start();
    expect(joined.launches).toBe(0);
  });
});
