import http from 'node:http';

const BOUNDARY = 'flood-boundary';
const HEAD = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="module"\r\n\r\nACCOUNTS\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\nid,name\r\n`;

/**
 * A chunked `POST /imports` that writes 64 KiB chunks as fast as it can, past any size limit, until the server
 * answers; resolves with the status, or 0 when the connection was cut off first. Used by the upload-flood test
 * and bench/attack-latency.ts.
 */
export function floodUpload(url: string, token: string): Promise<number> {
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
