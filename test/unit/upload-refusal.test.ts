import type { AddressInfo } from 'node:net';
import net from 'node:net';
import http from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSED_BODY_DRAIN_BYTES, sendRefusal } from '../../src/http/upload-refusal.ts';

/** Sends `total` bytes of body (announced), reading the answer meanwhile; what was read and whether all was sent. */
async function post(port: number, total: number): Promise<{ answer: string; sentAll: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
  const chunk = Buffer.alloc(256 * 1024, 'a');
  let sent = 0;
  while (sent < total && !socket.destroyed) {
    const ok = await new Promise<boolean>((resolve) => socket.write(chunk.subarray(0, Math.min(chunk.length, total - sent)), (error) => resolve(!error)));
    if (!ok) break;
    sent += Math.min(chunk.length, total - sent);
  }
  const sentAll = sent === total;
  if (sentAll) socket.end();
  await closed;
  return { answer, sentAll };
}

describe('sendRefusal', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    const app = express();
    app.post('/', (req, res) => sendRefusal(req, res, 401, { error: { code: 'UNAUTHENTICATED', message: 'no' } }));
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers at once, reads the rest of the body, then closes', async () => {
    const { answer, sentAll } = await post(port, 4 * 1024 * 1024);
    expect(sentAll).toBe(true);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer.endsWith('{"error":{"code":"UNAUTHENTICATED","message":"no"}}')).toBe(true);
  });

  it('reads no more than 8 MB: beyond that the connection is dropped', async () => {
    const { answer, sentAll } = await post(port, 4 * REFUSED_BODY_DRAIN_BYTES);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(sentAll).toBe(false);
  });
});
