import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { GraphQLError, parse, specifiedRules, validate, type DocumentNode } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Services } from '../services.ts';
import { parseBearer } from '../modules/auth/token.ts';
import type { Viewer } from '../modules/auth/auth.types.ts';
import { createContext, type GraphQLContext } from './context.ts';
import { errorForLog, formatError, isExpectedError } from './errors.ts';
import { graphiqlPage } from './graphiql.ts';
import { queryLimitsRule } from './query-limits.ts';
import { buildAppSchema } from './schema.ts';

/** Extra HTTP endpoints of a feature (downloads, imports), mounted before GraphQL. */
export type HttpRoutes = (router: express.Router, services: Services) => void;

export interface RunningHttpServer {
  url: string;
  port: number;
  /** Stops accepting, lets requests and subscriptions finish (bounded), then closes. */
  close(): Promise<void>;
}

const unauthenticated = (message: string) =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

export async function startHttpServer(
  services: Services,
  routes: HttpRoutes[],
  opts: { port: number; host: string },
): Promise<RunningHttpServer> {
  const schema = await buildAppSchema();
  const app = express();
  app.disable('x-powered-by');
  const httpServer = http.createServer(app);
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const formatWsError = formatError(services.config.production);
  const wsCleanup = useServer<Record<string, unknown>, { viewer?: Viewer }>(
    {
      schema,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const token = parseBearer(typeof raw === 'string' ? raw : undefined);
        if (!token) {
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Unauthorized: send connectionParams.authorization');
          return false;
        }
        const viewer = await authenticate(services, token);
        if (!viewer) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.viewer = viewer;
        return true;
      },
      context: (ctx) => createContext(ctx.extra.viewer!, services, randomUUID(), services.log),
      // The HTTP path's extra validation (depth) applies to subscriptions too; graphql-ws then does the rest.
      onSubscribe: (_ctx, _id, payload) => {
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error as GraphQLError];
        }
        const errors = validate(schema, document, [...specifiedRules, queryLimitsRule]);
        return errors.length > 0 ? errors : undefined;
      },
      onError: (_ctx, _id, _payload, errors) => {
        for (const error of errors) if (!isExpectedError(error)) services.log.error(errorForLog(error), 'subscription error');
      },
      // graphql-ws sends execution errors as they are: map them exactly as Apollo's formatError does over HTTP,
      // so no SQL, stack or parameter reaches a subscriber in production.
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors) return undefined;
        for (const error of result.errors) if (!isExpectedError(error)) services.log.error(errorForLog(error), 'subscription error');
        return { ...result, errors: result.errors.map((error) => formatWsError(error.toJSON(), error)) };
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    csrfPrevention: true,
    // main.ts owns SIGINT/SIGTERM: it drains HTTP, stops jobs, then stops PostgreSQL, in that order.
    stopOnTerminationSignals: false,
    introspection: true,
    includeStacktraceInErrorResponses: !services.config.production,
    formatError: formatError(services.config.production),
    validationRules: [queryLimitsRule],
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: async () => wsCleanup.dispose() }) },
      errorLoggingPlugin(services),
    ],
  });
  await apollo.start();

  app.use((req, res, next) => {
    const incoming = req.header('x-request-id');
    res.locals.requestId = incoming && /^[\w-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader('x-request-id', res.locals.requestId as string);
    next();
  });
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    const ready = await services.readiness();
    res.status(ready.ok ? 200 : 503).json(ready);
  });
  app.get('/graphql', async (req, res, next) => {
    // Browsers get GraphiQL; other GETs fall through to Apollo (which applies CSRF prevention).
    if (req.accepts(['text/html', 'application/json']) === 'text/html') {
      res.type('html').send(await graphiqlPage());
      return;
    }
    next();
  });
  const router = express.Router();
  for (const mount of routes) mount(router, services);
  app.use(router);
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const header = req.header('authorization');
        if (!header) throw unauthenticated('Send an API token: Authorization: Bearer <token>');
        const viewer = await authenticate(services, parseBearer(header));
        if (!viewer) throw unauthenticated('Unknown, revoked or malformed API token');
        return createContext(viewer, services, res.locals.requestId as string, services.log);
      },
    }),
  );
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

/**
 * The viewer behind a token. A failure (the database is down) is logged here, since neither Apollo (context
 * errors) nor graphql-ws (onConnect errors) logs it, and surfaces as a bare error: drizzle's message would carry
 * the SQL and the token hash to the client (graphql-ws puts it in the close reason outside production).
 */
async function authenticate(services: Services, token: string | undefined): Promise<Viewer | undefined> {
  try {
    return await services.auth.authenticate(token);
  } catch (error) {
    services.log.error(errorForLog(error), 'authentication failed unexpectedly');
    throw new Error('Internal server error');
  }
}

/**
 * The last handler: malformed or oversized JSON bodies (body-parser) and whatever a route lets through get a
 * GraphQL-shaped JSON answer. Express's own handler would send an HTML page with the stack trace whenever its
 * NODE_ENV is not "production", whatever our Config says.
 */
function httpErrorHandler(services: Services): express.ErrorRequestHandler {
  return (error: { status?: unknown; expose?: unknown; message?: unknown }, _req, res, next) => {
    if (res.headersSent) return next(error);
    const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) services.log.error(errorForLog(error), 'unexpected error in an HTTP route');
    const message = status === 500 ? 'Internal server error' : error.expose === true ? String(error.message) : 'Bad request';
    res.status(status).json({ errors: [{ message, extensions: { code: status === 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST' } }] });
  };
}

/** A log line (without variables: they may hold personal data) on failures. */
function errorLoggingPlugin(services: Services): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            if (isExpectedError(error)) continue;
            (contextValue?.log ?? services.log).error(
              { ...errorForLog(error), operationName },
              'unexpected error in GraphQL operation',
            );
          }
        },
      };
    },
  };
}
