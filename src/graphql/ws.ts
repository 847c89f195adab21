import { createHash, randomUUID } from 'node:crypto';
import type http from 'node:http';
import { GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer } from 'ws';
import { authenticate, bearerToken } from '../http/authenticate.ts';
import { edgeFailure } from '../http/errors.ts';
import { webSocketGauges } from '../metrics/websocket-gauges.ts';
import type { Viewer } from '../modules/auth/auth.types.ts';
import type { Services } from '../services.ts';
import { createContext } from './context.ts';
import { errorForLog, formatError, isExpectedError } from './errors.ts';
import { queryLimitsRule } from './query-limits.ts';

/**
 * Open sockets per token, in this process only: N api processes allow N × the cap per token (a load balancer
 * spreads a client's sockets anyway). Keyed by a hash so the map holds no usable token.
 */
function connectionCounter(max: number) {
  const open = new Map<string, number>();
  return {
    /** Counts the socket until it closes; false (and nothing counted) when the token is at its cap. */
    admit(token: string, socket: WebSocket): boolean {
      const key = createHash('sha256').update(token).digest('base64url');
      const count = open.get(key) ?? 0;
      if (count >= max) return false;
      open.set(key, count + 1);
      socket.once('close', () => {
        const left = (open.get(key) ?? 1) - 1;
        if (left > 0) open.set(key, left);
        else open.delete(key);
      });
      return true;
    },
  };
}

/** The error code of an operation refused by the per-socket cap (a refusal of ours: not logged as a failure). */
const TOO_MANY_SUBSCRIPTIONS = 'TOO_MANY_SUBSCRIPTIONS';

/** Refuses a new operation on a socket already running `max` (graphql-ws registers it before onSubscribe runs). */
function tooManyOperations(subscriptions: Record<string, unknown>, max: number): GraphQLError | undefined {
  if (Object.keys(subscriptions).length <= max) return undefined;
  return new GraphQLError(`At most ${max} operations may run at once on one WebSocket; complete one first`, {
    extensions: { code: TOO_MANY_SUBSCRIPTIONS },
  });
}

/** The graphql-ws adapter: subscriptions on `WS /graphql`. Resolves the viewer once, when the socket connects. */
export function startSubscriptionServer(schema: GraphQLSchema, services: Services, httpServer: http.Server): { dispose(): void | Promise<void> } {
  const { config } = services;
  // maxPayload is enforced by `ws` while reading a frame, so an oversized connection_init never reaches JSON.parse
  // nor authentication: the socket is closed with 1009 (message too big).
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: config.wsMaxPayloadBytes });
  const connections = connectionCounter(config.wsMaxConnectionsPerToken);
  const gauges = webSocketGauges(wsServer);
  services.metrics.watchWebSockets(gauges);
  const formatWsError = formatError(!config.exposeErrors);
  const logUnexpected = (errors: readonly GraphQLError[]) => {
    const unexpected = errors.filter((error) => !isExpectedError(error) && error.extensions.code !== TOO_MANY_SUBSCRIPTIONS);
    for (const error of unexpected) services.log.error(errorForLog(error), 'subscription error');
  };
  return useServer<Record<string, unknown>, { viewer?: Viewer }>(
    {
      schema,
      connectionInitWaitTimeout: config.wsInitTimeoutMs,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const { socket } = ctx.extra;
        gauges.track(ctx, socket);
        try {
          const token = bearerToken(params.authorization ?? params.Authorization);
          ctx.extra.viewer = await authenticate(services, token);
          if (socket.readyState !== WebSocket.OPEN) return false; // gone while authenticating: nothing to count
          if (connections.admit(token!, socket)) return true;
          // graphql-ws's own "too many requests" code: the client may retry once one of its sockets closes.
          socket.close(CloseCode.TooManyInitialisationRequests, `At most ${config.wsMaxConnectionsPerToken} WebSockets per token`);
          return false;
        } catch (error) {
          const failure = edgeFailure(error);
          if (!failure.expected) throw error; // graphql-ws closes with 4500 and the bare message
          socket.close(failure.closeCode, failure.message);
          return false;
        }
      },
      context: (ctx) => createContext(ctx.extra.viewer!, services, randomUUID(), services.log),
      // The HTTP path's extra validation (depth) applies to subscriptions too; graphql-ws then does the rest.
      onSubscribe: (ctx, _id, payload) => {
        const overCap = tooManyOperations(ctx.subscriptions, config.wsMaxSubscriptionsPerConnection);
        if (overCap) return [overCap];
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
