import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Services } from '../services.ts';

/** An ops endpoint: answers the request itself, whatever framework (if any) received it. */
type OpsHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * `/healthz`, `/readyz` and `/metrics`: what an orchestrator and Prometheus call, on every role. Framework-free,
 * so a worker serves them from a bare `node:http` server without loading the API's machinery.
 * Returns the handler of a GET or HEAD on one of them, or undefined for anything else.
 */
export function opsEndpoint(services: Services, req: IncomingMessage): OpsHandler | undefined {
  if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
  const path = (req.url ?? '').split('?', 1)[0];
  if (path === '/healthz') return async (_req, res) => sendJson(res, 200, { status: 'ok' });
  if (path === '/readyz') {
    return async (_req, res) => {
      const ready = await services.readiness();
      sendJson(res, ready.ok ? 200 : 503, ready);
    };
  }
  if (path === '/metrics') return (request, res) => serveMetrics(services, request, res);
  return undefined;
}

async function serveMetrics(services: Services, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const expected = services.config.metricsToken;
  if (expected !== undefined && !bearerMatches(req.headers.authorization, expected)) {
    res.setHeader('www-authenticate', 'Bearer realm="metrics"');
    const message = 'Send the metrics token: Authorization: Bearer <METRICS_TOKEN>';
    return sendJson(res, 401, { error: { code: 'UNAUTHENTICATED', message } });
  }
  const { contentType, body } = await services.metrics.render();
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Compares digests of equal length, so neither the time taken nor an early length check says how much of a
 * guess was right.
 */
function bearerMatches(header: string | undefined, expected: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  const given = createHash('sha256').update(match?.[1] ?? '').digest();
  const wanted = createHash('sha256').update(expected).digest();
  return timingSafeEqual(given, wanted);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Runs an ops handler; a failure (the database gone mid-readiness) is logged and answered 500, never thrown. */
export async function runOpsEndpoint(services: Services, handler: OpsHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    await handler(req, res);
  } catch (error) {
    services.log.error({ err: (error as Error).message, path: (req.url ?? '').split('?', 1)[0] }, 'ops endpoint failed');
    if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' } });
    else res.destroy();
  }
}
