import type { WebSocketSource } from './app-metrics.ts';

interface OperationsOf {
  /** graphql-ws's record of the operations running on one socket (it adds and removes them itself). */
  subscriptions: Record<string, unknown>;
}

/**
 * Open sockets and running operations, counted when Prometheus asks: the `ws` server's own client set, and
 * graphql-ws's per-socket operation record, for every socket that got as far as `connection_init`. Counting at
 * scrape time needs no increment/decrement kept in step with every way a socket or an operation can end.
 */
export function webSocketGauges(server: { clients: Set<unknown> }): WebSocketSource & { track(ctx: OperationsOf, socket: { once(event: 'close', fn: () => void): unknown }): void } {
  const contexts = new Set<OperationsOf>();
  return {
    track(ctx, socket) {
      contexts.add(ctx);
      socket.once('close', () => contexts.delete(ctx));
    },
    connections: () => server.clients.size,
    operations: () => {
      let running = 0;
      for (const ctx of contexts) running += Object.keys(ctx.subscriptions).length;
      return running;
    },
  };
}
