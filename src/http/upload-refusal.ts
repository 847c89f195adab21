import type { Request, Response } from 'express';

/** How much of a refused upload is read (and thrown away) so the client gets to read the answer (API.md §6). */
export const REFUSED_BODY_DRAIN_BYTES = 8 * 1024 * 1024;

/**
 * Answers a request whose body may still be arriving, then closes the connection. Closing at once would reset
 * it while the client is still sending, and most clients then report the reset (EPIPE) instead of the answer;
 * so the answer is sent whole (Content-Length) but the response is ended only once the body is read, at most
 * REFUSED_BODY_DRAIN_BYTES of it: beyond that the connection is dropped.
 */
export function sendRefusal(req: Request, res: Response, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.status(status).type('json').setHeader('Content-Length', payload.length);
  if (req.complete) return void res.end(payload);
  res.setHeader('Connection', 'close');
  res.write(payload);
  let read = 0;
  const finish = (drop: boolean) => {
    req.off('data', count).off('end', ended).off('close', ended);
    res.end();
    if (drop) req.socket.destroy();
  };
  const count = (chunk: Buffer) => {
    read += chunk.length;
    if (read > REFUSED_BODY_DRAIN_BYTES) finish(true);
  };
  const ended = () => finish(false);
  req.on('data', count).once('end', ended).once('close', ended);
  req.resume();
}
