import http from 'node:http';
import { describe, expect, it } from 'vitest';
import type { TestOrg } from '../support/factories.ts';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';
import { csvOf, upload } from '../support/restore-helpers.ts';

const MAX_BYTES = 1024; // IMPORT_MAX_BYTES: the smallest allowed
const BOUNDARY = 'refusal-test-boundary';

/**
 * Starts a chunked multipart upload (no Content-Length) and keeps it open: writes `head`, then `chunk` every few
 * milliseconds, never ending the body. Resolves with the answer the server gives meanwhile, and how many bytes
 * had been sent by then: a server that waited for the end of the body would never answer.
 */
function openEndedUpload(url: string, token: string, head: string, chunk: Buffer): Promise<{ status: number; body: unknown; sentBytes: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const req = http.request(`${url}/imports`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'apollo-require-preflight': 'true',
        'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
        'transfer-encoding': 'chunked',
      },
    });
    const write = (data: Buffer | string) => req.write(data, () => undefined) && (sent += Buffer.byteLength(data));
    const timer = setInterval(() => write(chunk), 5);
    const giveUp = setTimeout(() => {
      clearInterval(timer);
      req.destroy();
      reject(new Error(`no answer while the body was open (${sent} bytes sent)`));
    }, 10_000);
    req.on('error', () => undefined); // the server drops the connection after its answer: expected
    req.on('response', (res) => {
      const sentBytes = sent;
      clearInterval(timer);
      clearTimeout(giveUp);
      let text = '';
      res.on('data', (part: Buffer) => (text += part.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown, sentBytes }));
      res.on('error', reject);
    });
    write(head);
  });
}

const filePart = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="module"\r\n\r\nACCOUNTS\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="accounts.csv"\r\nContent-Type: text/csv\r\n\r\nid,name\r\n`;

describe('early refusal of uploads (IMPORT_MAX_BYTES, API.md §6)', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({ env: { IMPORT_MAX_BYTES: String(MAX_BYTES) } }, (ready) => ({ t, org } = ready));

  it('a chunked upload whose file crosses IMPORT_MAX_BYTES gets 413 at once, while the client is still sending', async () => {
    const res = await openEndedUpload(t.url, org.admin.token, filePart, Buffer.alloc(512, 'a'));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: `file: must be at most ${MAX_BYTES} bytes` } });
    expect(res.sentBytes).toBeLessThan(1024 * 1024); // answered near the limit, not at the end of anything
    const { rows } = await t.db.pool.query('select count(*)::int as n from import_jobs where organization_id = $1', [org.organizationId]);
    expect(rows[0].n).toBe(0);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it('a chunked body that never reaches a file part is cut off too, once it is past the limit and the envelope', async () => {
    const junk = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="module"\r\n\r\n`;
    const res = await openEndedUpload(t.url, org.admin.token, junk, Buffer.alloc(16 * 1024, 'x'));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: `body: must be at most ${MAX_BYTES + 64 * 1024} bytes` } });
    expect(res.sentBytes).toBeLessThan(1024 * 1024);
  });

  it('an upload under the limit is still accepted', async () => {
    const file = csvOf('ACCOUNTS', [{ name: 'Small Co' }]);
    expect(file.length).toBeLessThan(MAX_BYTES);
    const res = await upload(t.url, org.admin.token, { module: 'ACCOUNTS', file: { data: file, name: 'accounts.csv' } });
    expect(res).toMatchObject({ status: 202, body: { importId: expect.any(String) } });
  });
});
