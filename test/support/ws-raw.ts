import { GRAPHQL_TRANSPORT_WS_PROTOCOL } from 'graphql-ws';
import WebSocket from 'ws';

export interface RawMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

/**
 * A graphql-transport-ws socket driven by hand, so a test sees exactly what the server sends and when it
 * closes: `connect` resolves once acknowledged (or with the close code), `operation` sends one and resolves
 * with its first `next`/`error` message (or the close code), `closed` with the close code whenever it comes.
 */
export async function rawSocket(baseUrl: string, token: string) {
  const socket = new WebSocket(`${baseUrl.replace('http', 'ws')}/graphql`, GRAPHQL_TRANSPORT_WS_PROTOCOL);
  socket.on('error', () => undefined);
  const messages: RawMessage[] = [];
  const listeners = new Set<() => void>();
  socket.on('message', (data) => {
    messages.push(JSON.parse(String(data)) as RawMessage);
    listeners.forEach((listener) => listener());
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', () => reject(new Error('upgrade refused')));
  });
  const first = (match: (m: RawMessage) => boolean): Promise<RawMessage | number> =>
    Promise.race([
      closed,
      new Promise<RawMessage>((resolve) => {
        const check = () => {
          const found = messages.find(match);
          if (found) {
            listeners.delete(check);
            resolve(found);
          }
        };
        listeners.add(check);
        check();
      }),
    ]);
  let ids = 0;
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  const ack = await first((m) => m.type === 'connection_ack');
  return {
    socket,
    /** 'ack', or the close code the server answered connection_init with. */
    connected: typeof ack === 'number' ? ack : ('ack' as const),
    closed,
    /** Sends an operation; its first answer (`next` or `error`), or the close code if the socket closed first. */
    operation(query: string, variables?: Record<string, unknown>): Promise<RawMessage | number> {
      const id = String(++ids);
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
      return first((m) => m.id === id && (m.type === 'next' || m.type === 'error'));
    },
    isOpen: () => socket.readyState === WebSocket.OPEN,
  };
}

/** The `extensions.code` of an `error` message's first error. */
export function errorCodeOf(message: RawMessage | number): string | undefined {
  if (typeof message === 'number' || message.type !== 'error') return undefined;
  return (message.payload as { extensions?: { code?: string } }[])[0]?.extensions?.code;
}
