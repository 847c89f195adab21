import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Services } from '../services.ts';
import type { RunningHttpServer } from './app.ts'; // a type only: app.ts (Apollo, GraphQL) is not loaded
import { opsEndpoint, runOpsEndpoint } from './ops-endpoints.ts';

/**
 * A worker's HTTP server: `/healthz`, `/readyz` and `/metrics` only, on a bare `node:http` server — no Express,
 * Apollo, GraphQL schema or WebSocket server in a process that answers no API call. Anything else is a 404.
 */
export async function startOpsServer(services: Services, opts: { port: number; host: string }): Promise<RunningHttpServer> {
  const server = http.createServer((req, res) => {
    const started = performance.now();
    res.once('finish', () => services.metrics.httpRequest(req.method ?? '', req.url ?? '', res.statusCode, (performance.now() - started) / 1000));
    res.setHeader('x-content-type-options', 'nosniff');
    const handler = opsEndpoint(services, req);
    if (handler) return void runOpsEndpoint(services, handler, req, res);
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'A worker serves /healthz, /readyz and /metrics only' } }));
  });
  // A scraper or probe that stops mid-request must not keep a socket (and the worker's shutdown) waiting.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Probes are short: whatever is still open after a moment is cut rather than holding up the shutdown.
      const cut = setTimeout(() => server.closeAllConnections(), 2_000);
      await closed;
      clearTimeout(cut);
    },
  };
}
