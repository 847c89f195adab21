import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

export type PostOutcome = { ok: true; status: number } | { ok: false; status: number | null; error: string };

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs `body` to `url`, connecting to `address` (already checked) whatever DNS says now; gives up after
 * `timeoutMs` in all (connect, send, answer). 2xx is success; the answer's body is read (to free the socket) and dropped.
 */
export function postPinned(
  url: URL,
  pinned: { address: string; family: number },
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<PostOutcome> {
  const lookup: LookupFunction = (_host, options, callback) => {
    if (options.all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const request = client.request(url, {
      method: 'POST',
      lookup,
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'crm-data-admin-webhooks' },
    });
    const timer = setTimeout(() => request.destroy(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
    request.on('response', (response) => {
      let seen = 0;
      response.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > MAX_RESPONSE_BYTES) response.destroy();
      });
      const done = () => {
        clearTimeout(timer);
        const status = response.statusCode ?? 0;
        resolve(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status}` });
      };
      response.on('end', done);
      response.on('close', done);
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, status: null, error: error.code ? `connection failed (${error.code})` : error.message });
    });
    request.end(body);
  });
}
