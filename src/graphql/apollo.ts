import type http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import type express from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { GraphqlAdmission } from '../http/admission.ts';
import { edgeFailure } from '../http/errors.ts';
import type { GovernedScope } from '../db/db-governor.ts';
import { metricsPlugin } from '../metrics/apollo-metrics-plugin.ts';
import type { Services } from '../services.ts';
import { createContext, type GraphQLContext } from './context.ts';
import { errorForLog, formatError, isExpectedError } from './errors.ts';
import { PARSE_OPTIONS, queryLimitsRule } from './query-limits.ts';

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
    parseOptions: PARSE_OPTIONS,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // No field has a cache hint, so Apollo's default cache-control plugin only ever answered `no-store`, at
      // the price of wrapping every field's resolver (the list's 50 nodes × fields) to compute that.
      ApolloServerPluginCacheControlDisabled(),
      noStorePlugin,
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: drain }) },
      errorLoggingPlugin(services),
      metricsPlugin(services.metrics),
    ],
  });
  await apollo.start();
  return apollo;
}

/**
 * The Apollo HTTP adapter: hands Apollo the per-request context for the viewer that http/admission.ts
 * resolved (authenticated and counted against the rate limit) before the body was read.
 */
export function apolloMiddleware(apollo: ApolloServer<GraphQLContext>, services: Services): express.RequestHandler {
  const scopes = new WeakMap<express.Request, GovernedScope>();
  const handler = expressMiddleware(apollo, {
    context: async ({ req, res }) => {
      const admission = res.locals.admission as GraphqlAdmission | undefined;
      try {
        if (!admission) throw new Error('/graphql reached Apollo without admission');
        if ('error' in admission) throw admission.error;
        // From here on, the operation's database work counts against its organization (statement timeout, cap).
        const scope = scopes.get(req);
        if (scope) scope.organizationId = admission.viewer.organizationId;
        return createContext(admission.viewer, services, res.locals.requestId as string, services.log);
      } catch (error) {
        const failure = edgeFailure(error);
        if (!failure.expected) throw error;
        throw new GraphQLError(failure.message, { extensions: { code: failure.code, http: { status: failure.status } } });
      }
    },
  });
  return (req, res, next) => {
    const scope: GovernedScope = {};
    scopes.set(req, scope);
    return services.dbGovernor.run(scope, () => handler(req, res, next));
  };
}

/** What the cache-control plugin answered for every operation: GraphQL answers are per viewer, never cached. */
const noStorePlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set('cache-control', 'no-store');
      },
    };
  },
};

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
