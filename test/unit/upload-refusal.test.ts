import type { AddressInfo } from 'node:net';
import net from 'node:net';
import http from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ByteLimit } from '../../src/http/upload-limit.ts';
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
    app.post('/slow', (req, res) => sendRefusal(req, res, 429, { error: { code: 'RATE_LIMITED', message: 'later' } }, { maxMs: 300 }));
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

  it('reads for a bounded time: a client trickling its body is dropped after the answer', async () => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
    let sent = 0;
    const trickle = setInterval(() => socket.writable && socket.write('x'.repeat(10), () => (sent += 10)), 20); // ~500 B/s: 200 s in all
    await closed;
    clearInterval(trickle);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 429 Too Many Requests');
    expect(answer.endsWith('{"error":{"code":"RATE_LIMITED","message":"later"}}')).toBe(true);
    expect(sent).toBeLessThan(100_000);
  });
});

describe('ByteLimit', () => {
  const sink = () => new Writable({ write: (_chunk, _enc, done) => done() });
  const chunks = (sizes: number[]) => Readable.from(sizes.map((n) => Buffer.alloc(n)));

  it('passes a body of exactly the limit', async () => {
    await expect(pipeline(chunks([400, 400, 200]), new ByteLimit(1000), sink())).resolves.toBeUndefined();
  });

  it('fails with PAYLOAD_TOO_LARGE at the chunk that crosses the limit, before reading the rest', async () => {
    let pulled = 0;
    const source = Readable.from((function* () {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield Buffer.alloc(100);
      }
    })());
    await expect(pipeline(source, new ByteLimit(1000, 'file'), sink())).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'file: must be at most 1000 bytes',
    });
    expect(pulled).toBeLessThan(50);
  });
});
