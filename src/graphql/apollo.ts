import type http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import type express from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { authenticate, bearerToken } from '../http/authenticate.ts';
import { edgeFailure } from '../http/errors.ts';
import { metricsPlugin } from '../metrics/apollo-metrics-plugin.ts';
import type { Services } from '../services.ts';
import { createContext, type GraphQLContext } from './context.ts';
import { errorForLog, formatError, isExpectedError } from './errors.ts';
import { queryLimitsRule } from './query-limits.ts';

/** Apollo for `POST|GET /graphql`. Stopping it drains HTTP (bounded), then runs `drain` (the WebSocket server). */
export async function startApollo(
  schema: GraphQLSchema,
  services: Services,
  httpServer: http.Server,
  drain: () => Promise<void>,
): Promise<ApolloServer<GraphQLContext>> {
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    // The edge applies the one CSRF check (http/csrf.ts) before the request reaches Apollo.
    csrfPrevention: false,
    // main.ts owns SIGINT/SIGTERM: it drains HTTP, stops jobs, then stops PostgreSQL, in that order.
    stopOnTerminationSignals: false,
    introspection: true,
    includeStacktraceInErrorResponses: services.config.exposeErrors,
    formatError: formatError(!services.config.exposeErrors),
    validationRules: [queryLimitsRule],
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: drain }) },
      errorLoggingPlugin(services),
      metricsPlugin(services.metrics),
    ],
  });
  await apollo.start();
  return apollo;
}

/** The Apollo HTTP adapter: authenticates the request, then hands Apollo the per-request context. */
export function apolloMiddleware(apollo: ApolloServer<GraphQLContext>, services: Services): express.RequestHandler {
  return expressMiddleware(apollo, {
    context: async ({ req, res }) => {
      try {
        const viewer = await authenticate(services, bearerToken(req.header('authorization')));
        return createContext(viewer, services, res.locals.requestId as string, services.log);
      } catch (error) {
        const failure = edgeFailure(error);
        if (!failure.expected) throw error;
        throw new GraphQLError(failure.message, { extensions: { code: failure.code, http: { status: failure.status } } });
      }
    },
  });
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
