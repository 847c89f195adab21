import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { startTestApp } from '../support/test-app.ts';

describe('health endpoints', () => {
  let t: RunningTestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('GET /healthz answers 200 without a token', async () => {
    const res = await fetch(`${t.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 with the database reachable and every migration applied', async () => {
    const res = await fetch(`${t.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, database: true, migrations: true });
  });

  it('GET /readyz answers 503 when the migrations are not recorded as applied', async () => {
    await t.db.pool.query('alter table drizzle.__drizzle_migrations rename to __drizzle_migrations_hidden');
    try {
      const res = await fetch(`${t.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ ok: false, database: true, migrations: false });
    } finally {
      await t.db.pool.query('alter table drizzle.__drizzle_migrations_hidden rename to __drizzle_migrations');
    }
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
  });

  it('echoes a safe x-request-id and replaces an unsafe one', async () => {
    const ok = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'req-123_abc' } });
    expect(ok.headers.get('x-request-id')).toBe('req-123_abc');
    const unsafe = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
