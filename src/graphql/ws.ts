import { createHash, randomUUID } from 'node:crypto';
import type http from 'node:http';
import { execute, GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { LRUCache } from 'lru-cache';
import { WebSocket, WebSocketServer } from 'ws';
import { admit, admitConnection, peerAddress } from '../http/admission.ts';
import { authenticate, bearerToken } from '../http/authenticate.ts';
import { AuthenticationError, edgeFailure } from '../http/errors.ts';
import { webSocketGauges } from '../metrics/websocket-gauges.ts';
import type { TokenViewer, Viewer } from '../modules/auth/auth.types.ts';
import type { Services } from '../services.ts';
import { AppError } from '../shared/app-error.ts';
import { createContext, type GraphQLContext } from './context.ts';
import { sharedSubscribe } from './shared-subscriptions.ts';
import { errorForLog, formatError, isExpectedError } from './errors.ts';
import { isTooManyTokens, PARSE_OPTIONS, queryLimitsRule, TOO_LARGE_MESSAGE } from './query-limits.ts';

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

/** Queries of at most this many characters are kept parsed and validated (most clients send a handful). */
const CACHED_QUERY_CHARS = 16 * 1024;

/**
 * Parsed and validated subscription documents by query text. Many sockets send the same few queries: each used to
 * hold its own syntax tree for as long as it subscribed. Bounded by total characters, so hostile query variety
 * costs at most a few MB. A document is only ever read by execution, so sharing it is safe.
 */
function documentCache(): LRUCache<string, DocumentNode> {
  return new LRUCache<string, DocumentNode>({ maxSize: 4 * 1024 * 1024, sizeCalculation: (_doc, query) => query.length });
}

/** The query's document, checked as over HTTP (plus the depth and size limits), or the errors to send instead. */
function validDocument(schema: GraphQLSchema, documents: LRUCache<string, DocumentNode>, query: string): DocumentNode | readonly GraphQLError[] {
  const cached = documents.get(query);
  if (cached) return cached;
  let document: DocumentNode;
  try {
    document = parse(query, PARSE_OPTIONS);
  } catch (error) {
    const message = (error as GraphQLError).message;
    return [isTooManyTokens(message) ? new GraphQLError(TOO_LARGE_MESSAGE, { extensions: { code: 'QUERY_TOO_COMPLEX' } }) : (error as GraphQLError)];
  }
  const errors = validate(schema, document, [...specifiedRules, queryLimitsRule]);
  if (errors.length > 0) return errors;
  if (query.length <= CACHED_QUERY_CHARS) documents.set(query, document);
  return document;
}

/** What graphql-ws keeps per socket for us: the token (checked again before each operation) and its viewer. */
type SocketExtra = {
  viewer?: TokenViewer;
  token?: string;
};

/**
 * Checks the socket's token again before each operation (through the token cache, so revocations are seen at
 * once) and counts the operation against RATE_LIMIT_PER_MINUTE. A token refused since the socket connected
 * closes the socket (4403); a rate refusal is this operation's error only, and the socket stays open.
 */
async function admitOperation(services: Services, extra: SocketExtra & { socket: WebSocket; request: http.IncomingMessage }) {
  try {
    extra.viewer = await admit(services, extra.token, peerAddress(extra.request));
  } catch (error) {
    const failure = edgeFailure(error);
    if (error instanceof AuthenticationError) extra.socket.close(failure.closeCode, failure.message);
    const details = error instanceof AppError ? error.details : {};
    return [new GraphQLError(failure.message, { extensions: { code: failure.code, ...details }, originalError: error as Error })];
  }
  // Closed while the check ran (a revocation heard meanwhile): graphql-ws would still execute what we let through.
  if (extra.socket.readyState !== WebSocket.OPEN) {
    return [new GraphQLError('The WebSocket closed before the operation could start', { extensions: { code: 'UNAUTHENTICATED' } })];
  }
  return undefined;
}

/** The graphql-ws adapter: subscriptions on `WS /graphql`. Authenticates on connect and again per operation. */
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
  const open = openSocketsByToken(services);
  const documents = documentCache();
  const server = useServer<Record<string, unknown>, SocketExtra>(
    {
      schema,
      connectionInitWaitTimeout: config.wsInitTimeoutMs,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const { socket } = ctx.extra;
        gauges.track(ctx, socket);
        try {
          const token = bearerToken(params.authorization ?? params.Authorization);
          const viewer = await admitConnection(services, token, peerAddress(ctx.extra.request));
          Object.assign(ctx.extra, { viewer, token });
          if (socket.readyState !== WebSocket.OPEN) return false; // gone while authenticating: nothing to count
          if (connections.admit(token!, socket)) return open.add(viewer.tokenId, token!, socket);
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
      // Queries and mutations sent over the socket obey the same database limits as over HTTP (db-governor.ts).
      // Subscribers asking the same thing as the same user share one execution per event (shared-subscriptions.ts).
      subscribe: sharedSubscribe(),
      execute: (args) => {
        const organizationId = (args.contextValue as GraphQLContext | undefined)?.viewer.organizationId;
        return services.dbGovernor.run({ organizationId }, () => execute(args));
      },
      // The HTTP path's extra validation (depth) applies to subscriptions too; graphql-ws then does the rest.
      onSubscribe: async (ctx, _id, payload) => {
        const overCap = tooManyOperations(ctx.subscriptions, config.wsMaxSubscriptionsPerConnection);
        if (overCap) return [overCap];
        const refused = await admitOperation(services, ctx.extra);
        if (refused) return refused;
        const document = validDocument(schema, documents, payload.query);
        if (!('kind' in document)) return document; // the errors
        // Handing graphql-ws the checked document spares it a second parse and validation of every subscription.
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
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
  quietProtocolErrors(wsServer, services);
  return {
    dispose: async () => {
      open.stop();
      await server.dispose();
    },
  };
}

/**
 * graphql-ws prints every socket 'error' with console.error and its stack trace, and any client can cause one
 * before authenticating (a frame over maxPayload, a malformed frame): a log flood on demand. `ws` has already
 * closed such a socket with the code that says why (1009, 1002…), so one warning line with the error's code is
 * enough. Registered after useServer's listener, so graphql-ws's handler is the one replaced.
 */
function quietProtocolErrors(wsServer: WebSocketServer, services: Services): void {
  wsServer.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (error: NodeJS.ErrnoException) => services.log.warn({ code: error.code }, 'WebSocket closed on a protocol error from the client'));
  });
}

/**
 * This process's open sockets by token id, so a revocation heard from any process (NOTIFY) closes them with
 * 4403 at once. When the LISTEN connection was lost (revocations may have been missed), every open socket's
 * token is checked again.
 */
function openSocketsByToken(services: Services) {
  const byToken = new Map<string, Map<WebSocket, string>>();
  const closeAll = (tokenId: string) => {
    for (const socket of byToken.get(tokenId)?.keys() ?? []) socket.close(CloseCode.Forbidden, 'API token revoked');
  };
  const recheck = async () => {
    for (const [tokenId, sockets] of byToken) {
      const [token] = sockets.values();
      const live = await authenticate(services, token).then(() => true, (error: unknown) => !(error instanceof AuthenticationError));
      if (!live) closeAll(tokenId);
    }
  };
  const stops = [
    services.events.on('tokenRevoked', closeAll),
    services.events.onReconnect(() => void recheck().catch((error: unknown) => services.log.error(errorForLog(error), 'socket token recheck failed'))),
  ];
  return {
    /** Tracks the socket until it closes; true, for onConnect. */
    add(tokenId: string, token: string, socket: WebSocket): true {
      const sockets = byToken.get(tokenId) ?? new Map<WebSocket, string>();
      sockets.set(socket, token);
      byToken.set(tokenId, sockets);
      socket.once('close', () => {
        sockets.delete(socket);
        if (sockets.size === 0 && byToken.get(tokenId) === sockets) byToken.delete(tokenId);
      });
      return true;
    },
    stop: () => stops.forEach((stop) => stop()),
  };
}
