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
import type { Services } from '../app.ts';
import { parseBearer } from '../modules/auth/token.ts';
import type { Viewer } from '../modules/auth/auth.types.ts';
import { createContext, type GraphQLContext } from './context.ts';
import { formatError, isExpectedError } from './errors.ts';
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
        const viewer = await services.auth.authenticate(token);
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
        for (const error of errors) if (!isExpectedError(error)) services.log.error({ err: error.message }, 'subscription error');
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    csrfPrevention: true,
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
  app.get('/graphql', (req, res, next) => {
    // Browsers get GraphiQL; other GETs fall through to Apollo (which applies CSRF prevention).
    if (req.accepts(['text/html', 'application/json']) === 'text/html') {
      res.type('html').send(graphiqlPage());
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
        const viewer = await services.auth.authenticate(parseBearer(header));
        if (!viewer) throw unauthenticated('Unknown, revoked or malformed API token');
        return createContext(viewer, services, res.locals.requestId as string, services.log);
      },
    }),
  );

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

/** A log line (without variables: they may hold personal data) on failures. */
function errorLoggingPlugin(services: Services): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            if (isExpectedError(error)) continue;
            (contextValue?.log ?? services.log).error(
              { err: error.originalError?.message ?? error.message, stack: error.originalError?.stack, operationName },
              'unexpected error in GraphQL operation',
            );
          }
        },
      };
    },
  };
}
