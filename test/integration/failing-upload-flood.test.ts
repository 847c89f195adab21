import http from 'node:http';
import { describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';

const MAX_BYTES = 1024 * 1024;
const BOUNDARY = 'flood-boundary';
const HEAD = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="module"\r\n\r\nACCOUNTS\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\nid,name\r\n`;

/** A chunked upload that writes as fast as it can past the limit; resolves with the status, or 0 if cut off. */
function floodUpload(url: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(`${url}/imports`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true', 'transfer-encoding': 'chunked',
        'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
      },
    });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const timer = setInterval(() => req.write(chunk), 1);
    const done = (status: number) => {
      clearInterval(timer);
      req.destroy();
      resolve(status);
    };
    req.on('response', (res) => done(res.statusCode ?? 0));
    req.on('error', () => done(0));
    req.write(HEAD);
  });
}

/**
 * Found by bench/attack-latency.ts: concurrent chunked uploads past IMPORT_MAX_BYTES, written as fast as the
 * client can, ended the process (busboy passed the 413 on to the file stream as an 'error' nobody listened to).
 */
describe('a flood of uploads past IMPORT_MAX_BYTES', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({ env: { IMPORT_MAX_BYTES: String(MAX_BYTES) } }, (ready) => ({ t, org } = ready));

  it('is refused (413 or cut off), the process stays up and answers /healthz, and no import is made', async () => {
    const statuses: number[] = [];
    for (let round = 0; round < 10; round++) {
      statuses.push(...(await Promise.all(Array.from({ length: 16 }, () => floodUpload(t.url, org.admin.token)))));
    }
    expect(statuses.every((s) => s === 413 || s === 0), JSON.stringify(statuses)).toBe(true);
    expect(statuses).toContain(413);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const { rows } = await t.db.pool.query('select count(*)::int as n from import_jobs where organization_id = $1', [org.organizationId]);
    expect(rows[0].n).toBe(0);
  });
});
