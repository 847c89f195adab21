import { describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';
import { floodUpload } from '../support/upload-flood.ts';

const MAX_BYTES = 1024 * 1024;

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
