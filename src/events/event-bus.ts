import { Repeater } from '@graphql-yoga/subscription';
import type pg from 'pg';
import type { Logger } from '../shared/logger.ts';
import { PgListener } from './pg-listener.ts';
import { encodeEvent, EVENT_CHANNEL, type EventMessage, type TopicName, type Topics } from './event-topics.ts';

/** A consumer of one topic: called with the routing id and the payload of every event. */
export type TopicHandler<K extends TopicName> = (id: Topics[K][0], payload: Topics[K][1]) => void;

/**
 * Transport-free publish/subscribe over PostgreSQL LISTEN/NOTIFY: whatever one process publishes, every process
 * hears. Features publish here; consumers (GraphQL subscriptions, and any other: email, webhooks) listen with
 * `on` (a whole topic) or through `eventTarget` (one `topic:id`, as `createPubSub` expects). A consumer that
 * throws is logged; it never stops delivery to the others.
 */
export class EventBus {
  private readonly listener: PgListener;
  private readonly byType = new Map<string, Set<EventListenerOrEventListenerObject>>();
  private readonly byTopic = new Map<string, Set<(id: string, payload: unknown) => void>>();
  private readonly reconnectHandlers = new Set<() => void>();

  constructor(
    private readonly pool: pg.Pool,
    connectionString: string,
    private readonly log: Logger,
  ) {
    this.listener = new PgListener(
      connectionString,
      log,
      (message) => this.deliver(message),
      () => this.reconnectHandlers.forEach((handler) => this.guard('reconnect', handler)),
    );
  }

  ready(): Promise<void> {
    return this.listener.start();
  }

  close(): Promise<void> {
    return this.listener.close();
  }

  /** Publishes now (outside any transaction); use `eventNotifyQuery` to publish with a transaction. */
  publish<K extends TopicName>(topic: K, id: Topics[K][0], payload: Topics[K][1]): void {
    this.notify(topic, encodeEvent(topic, id, payload));
  }

  /** Every event of a topic, whatever its id. Returns the function that stops listening. */
  on<K extends TopicName>(topic: K, handler: TopicHandler<K>): () => void {
    const set = this.byTopic.get(topic) ?? new Set();
    const entry = handler as (id: string, payload: unknown) => void;
    set.add(entry);
    this.byTopic.set(topic, set);
    return () => void set.delete(entry);
  }

  /**
   * Called whenever the LISTEN connection comes back after a loss: events published meanwhile were missed, so
   * a consumer that caches what events would invalidate (the token cache) drops it. Returns the unsubscriber.
   */
  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => void this.reconnectHandlers.delete(handler);
  }

  /** The events of one `topic:id`, as they arrive, until the consumer stops iterating. */
  subscribe<K extends TopicName>(topic: K, id: Topics[K][0]): AsyncIterableIterator<Topics[K][1]> {
    return new Repeater<Topics[K][1]>(async (push, stop) => {
      const listener = (event: Event) => void push((event as CustomEvent<Topics[K][1]>).detail);
      this.eventTarget.addEventListener(`${topic}:${id}`, listener);
      await stop;
      this.eventTarget.removeEventListener(`${topic}:${id}`, listener);
    });
  }

  /** The bus as a DOM EventTarget of `topic:id` events, for adapters such as `createPubSub`. */
  readonly eventTarget: EventTarget = {
    addEventListener: (type, listener) => {
      if (!listener) return;
      const set = this.byType.get(type) ?? new Set();
      set.add(listener);
      this.byType.set(type, set);
    },
    removeEventListener: (type, listener) => {
      const set = this.byType.get(type);
      if (listener) set?.delete(listener);
      if (set?.size === 0) this.byType.delete(type);
    },
    dispatchEvent: (event) => {
      const [topic] = event.type.split(':', 1);
      this.notify(topic ?? event.type, JSON.stringify({ t: event.type, d: (event as CustomEvent).detail } satisfies EventMessage));
      return true;
    },
  };

  private notify(topic: string, text: string): void {
    this.pool.query('select pg_notify($1, $2)', [EVENT_CHANNEL, text]).catch((err: Error) => {
      this.log.error({ err: err.message, topic }, 'failed to publish event');
    });
  }

  private deliver(message: EventMessage): void {
    const at = message.t.indexOf(':');
    const topic = at < 0 ? message.t : message.t.slice(0, at);
    for (const handler of this.byTopic.get(topic) ?? []) {
      this.guard(topic, () => handler(message.t.slice(at + 1), message.d));
    }
    const event = new CustomEvent(message.t, { detail: message.d });
    for (const listener of this.byType.get(message.t) ?? []) {
      this.guard(topic, () => (typeof listener === 'function' ? listener(event) : listener.handleEvent(event)));
    }
  }

  private guard(topic: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err: (err as Error).message, topic }, 'event consumer failed');
    }
  }
}
