import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { apolloMiddleware, startApollo } from '../graphql/apollo.ts';
import { graphiqlPage } from '../graphql/graphiql.ts';
import { buildAppSchema } from '../graphql/schema.ts';
import { startSubscriptionServer } from '../graphql/ws.ts';
import { errorForLog } from '../graphql/errors.ts';
import type { Services } from '../services.ts';
import { graphqlAdmission } from './admission.ts';
import { CORS_PATHS, corsMiddleware } from './cors.ts';
import { forcesPreflight, PREFLIGHT_HEADERS } from './csrf.ts';
import { EdgeError, edgeFailure, graphqlErrorBody } from './errors.ts';
import { opsEndpoint, runOpsEndpoint } from './ops-endpoints.ts';

/** Extra HTTP endpoints of a feature (downloads, imports), mounted before GraphQL. */
export type HttpRoutes = (router: express.Router, services: Services) => void;

export interface RunningHttpServer {
  url: string;
  port: number;
  /** Stops accepting, lets requests and subscriptions finish (bounded), then closes. */
  close(): Promise<void>;
}

/**
 * The API edge: one HTTP server for health, readiness, GraphiQL, the features' routes, GraphQL over HTTP
 * (Apollo) and over WebSocket (graphql-ws). Every adapter authenticates through http/authenticate.ts and maps
 * errors through http/errors.ts.
 */
export async function startHttpServer(
  services: Services,
  routes: HttpRoutes[],
  opts: { port: number; host: string },
): Promise<RunningHttpServer> {
  const schema = await buildAppSchema();
  const app = express();
  app.disable('x-powered-by');
  const httpServer = http.createServer(app);
  const subscriptions = startSubscriptionServer(schema, services, httpServer);
  const apollo = await startApollo(schema, services, httpServer, async () => subscriptions.dispose());

  app.use(timeRequests(services), requestId, securityHeaders, opsEndpoints(services));
  app.get('/graphql', serveGraphiql);
  if (services.config.corsOrigins.length > 0) app.use(CORS_PATHS, corsMiddleware(services.config.corsOrigins));
  const router = express.Router();
  for (const mount of routes) mount(router, services);
  app.use(router);
  app.use('/graphql', graphqlCsrfCheck, graphqlAdmission(services), express.json({ limit: '1mb' }), apolloMiddleware(apollo, services));
  app.use(httpErrorHandler(services));

  await new Promise<void>((resolve) => httpServer.listen(opts.port, opts.host, resolve));
  const { port } = httpServer.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: async () => {
      await apollo.stop(); // drains HTTP (bounded) and disposes the WebSocket server
      httpServer.closeAllConnections();
    },
  };
}

/** Every answer's duration, by method, route and status (labels from fixed sets: see metrics/metric-labels.ts). */
function timeRequests(services: Services): express.RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const path = req.path; // read now: a router mounted on a path (Apollo on /graphql) strips it from req.url
    res.once('finish', () => services.metrics.httpRequest(req.method, path, res.statusCode, (performance.now() - started) / 1000));
    next();
  };
}

/** `/healthz`, `/readyz`, `/metrics`: the same handlers a worker serves (http/ops-endpoints.ts). */
function opsEndpoints(services: Services): express.RequestHandler {
  return (req, res, next) => {
    const handler = opsEndpoint(services, req);
    if (handler) void runOpsEndpoint(services, handler, req, res);
    else next();
  };
}

const requestId: express.RequestHandler = (req, res, next) => {
  const incoming = req.header('x-request-id');
  res.locals.requestId = incoming && /^[\w-]{1,64}$/.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', res.locals.requestId as string);
  next();
};

/** On every HTTP answer: no MIME sniffing of JSON or archives, and no URL (with its query) sent as a referrer. */
const securityHeaders: express.RequestHandler = (_req, res, next) => {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  next();
};

/**
 * Browsers get GraphiQL; other GETs fall through to Apollo (after the CSRF check). The page is compressed once
 * (9 MB → about 2 MB gzip) and revalidated by ETag, so a reload costs a 304; it may not be framed (clickjacking),
 * and its CSP admits only its own scripts.
 */
const serveGraphiql: express.RequestHandler = async (req, res, next) => {
  if (req.accepts(['text/html', 'application/json']) !== 'text/html') return next();
  const page = await graphiqlPage();
  res.set({
    'content-security-policy': page.contentSecurityPolicy,
    'x-frame-options': 'DENY',
    'cache-control': 'no-cache',
    etag: page.etag,
    vary: 'Accept, Accept-Encoding',
  });
  res.type('html');
  if (req.fresh) return void res.status(304).end();
  // Brotli whenever accepted (smaller than gzip); negotiation alone would follow the client's order.
  const encoding = req.acceptsEncodings('br') ? 'br' : req.acceptsEncodings('gzip') ? 'gzip' : 'identity';
  if (encoding !== 'identity') res.setHeader('content-encoding', encoding);
  res.send(encoding === 'br' ? page.brotli : encoding === 'gzip' ? page.gzip : page.html);
};

/** Apollo's wording, since GraphQL clients know it: a BAD_REQUEST (400) before anything runs. */
const graphqlCsrfCheck: express.RequestHandler = (req, _res, next) => {
  if (forcesPreflight(req)) return next();
  next(
    new EdgeError(
      'BAD_REQUEST',
      'This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Please either specify a ' +
        "'content-type' header (with a type that is not one of application/x-www-form-urlencoded, multipart/form-data, " +
        `text/plain) or provide a non-empty value for one of the following headers: ${PREFLIGHT_HEADERS.join(', ')}\n`,
    ),
  );
};

/**
 * The last handler: malformed or oversized JSON bodies (body-parser), a CSRF refusal and whatever a route lets
 * through get a GraphQL-shaped JSON answer. Express's own handler would send an HTML page with the stack trace
 * whenever its NODE_ENV is not "production", whatever our Config says.
 */
function httpErrorHandler(services: Services): express.ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    const failure = edgeFailure(error);
    if (!failure.expected) services.log.error(errorForLog(error), 'unexpected error in an HTTP route');
    res.status(failure.status).json(graphqlErrorBody(failure));
  };
}
