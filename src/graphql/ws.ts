import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { parse, specifiedRules, validate, type DocumentNode, type GraphQLError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { authenticate, bearerToken } from '../http/authenticate.ts';
import { edgeFailure } from '../http/errors.ts';
import type { Viewer } from '../modules/auth/auth.types.ts';
import type { Services } from '../services.ts';
import { createContext } from './context.ts';
import { errorForLog, formatError, isExpectedError } from './errors.ts';
import { queryLimitsRule } from './query-limits.ts';

/** The graphql-ws adapter: subscriptions on `WS /graphql`. Resolves the viewer once, when the socket connects. */
export function startSubscriptionServer(schema: GraphQLSchema, services: Services, httpServer: http.Server): { dispose(): void | Promise<void> } {
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const formatWsError = formatError(!services.config.exposeErrors);
  const logUnexpected = (errors: readonly GraphQLError[]) => {
    for (const error of errors) if (!isExpectedError(error)) services.log.error(errorForLog(error), 'subscription error');
  };
  return useServer<Record<string, unknown>, { viewer?: Viewer }>(
    {
      schema,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        try {
          ctx.extra.viewer = await authenticate(services, bearerToken(params.authorization ?? params.Authorization));
          return true;
        } catch (error) {
          const failure = edgeFailure(error);
          if (!failure.expected) throw error; // graphql-ws closes with 4500 and the bare message
          ctx.extra.socket.close(failure.closeCode, failure.message);
          return false;
        }
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
      onError: (_ctx, _id, _payload, errors) => logUnexpected(errors),
      // graphql-ws sends execution errors as they are: map them exactly as Apollo's formatError does over HTTP,
      // so no SQL, stack or parameter reaches a subscriber unless NODE_ENV=development.
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors) return undefined;
        logUnexpected(result.errors);
        return { ...result, errors: result.errors.map((error) => formatWsError(error.toJSON(), error)) };
      },
    },
    wsServer,
  );
}
