import type { Request, Response } from 'express';

/** How much of a refused upload is read (and thrown away) so the client gets to read the answer (API.md §6). */
export const REFUSED_BODY_DRAIN_BYTES = 8 * 1024 * 1024;

/** How long a refused upload is read at most: a client trickling its body cannot hold the connection open. */
export const REFUSED_BODY_DRAIN_MS = 10_000;

/**
 * Answers a request whose body may still be arriving, then closes the connection. Closing at once would reset
 * it while the client is still sending, and most clients then report the reset (EPIPE) instead of the answer;
 * so the answer is sent whole (Content-Length) but the response is ended only once the body is read, at most
 * REFUSED_BODY_DRAIN_BYTES of it or for REFUSED_BODY_DRAIN_MS: beyond either the connection is dropped.
 */
export function sendRefusal(
  req: Request,
  res: Response,
  status: number,
  body: unknown,
  limits: { maxBytes?: number; maxMs?: number } = {},
): void {
  const { maxBytes = REFUSED_BODY_DRAIN_BYTES, maxMs = REFUSED_BODY_DRAIN_MS } = limits;
  const payload = Buffer.from(JSON.stringify(body));
  res.status(status).type('json').setHeader('Content-Length', payload.length);
  if (req.complete) return void res.end(payload);
  res.setHeader('Connection', 'close');
  res.write(payload);
  let read = 0;
  const finish = (drop: boolean) => {
    clearTimeout(timer);
    req.off('data', count).off('end', ended).off('close', ended);
    res.end();
    if (drop) req.socket.destroy();
  };
  const count = (chunk: Buffer) => {
    read += chunk.length;
    if (read > maxBytes) finish(true);
  };
  const ended = () => finish(false);
  const timer = setTimeout(() => finish(true), maxMs);
  req.unpipe(); // a parser cut short may still be attached; the rest of the body is read here, and dropped
  req.on('data', count).once('end', ended).once('close', ended);
  req.resume();
}
