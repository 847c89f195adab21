import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import pg from 'pg';
import type { Logger } from '../shared/logger.ts';

/**
 * Every topic, with the id that routes it and its payload. Payloads carry ids, not records: subscribers load
 * what they show, scoped to their own organization, so a NOTIFY never carries personal data.
 */
export type Topics = {
  backupEvent: [organizationId: string, payload: { backupId: string; kind: string; at: string }];
  notificationAdded: [userId: string, payload: { notificationId: string }];
  importJobUpdated: [importJobId: string, payload: { importJobId: string }];
};
export type AppPubSub = PubSub<Topics> & { close(): Promise<void>; ready(): Promise<void> };

const CHANNEL = 'crm_data_admin_events';
const MAX_PAYLOAD = 7900; // NOTIFY's limit is 8000 bytes

/**
 * An EventTarget whose events travel through PostgreSQL LISTEN/NOTIFY, so a subscriber connected to one api
 * process receives what a worker or another api process published. One LISTEN connection per process,
 * reconnected with backoff when lost.
 */
export class PgEventTarget implements EventTarget {
  private readonly listeners = new Map<string, Set<EventListenerOrEventListenerObject>>();
  private client: pg.Client | undefined;
  private closed = false;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly connectionString: string,
    private readonly log: Logger,
  ) {}

  start(): Promise<void> {
    this.connecting ??= this.connect(0);
    return this.connecting;
  }

  private async connect(attempt: number): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.connectionString, application_name: 'crm-data-admin-listen' });
    client.on('notification', (msg) => this.deliver(msg.payload));
    client.on('error', (err) => this.log.warn({ err: err.message }, 'event listener connection error'));
    client.on('end', () => {
      if (this.closed || this.client !== client) return;
      this.client = undefined;
      this.log.warn('event listener connection lost; reconnecting');
      void this.reconnectLater(1);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.client = client;
      if (this.closed) await client.end();
    } catch (err) {
      await client.end().catch(() => undefined);
      if (attempt === 0) throw err; // the first connection must work: fail start-up loudly
      this.log.warn({ err: (err as Error).message, attempt }, 'event listener reconnect failed');
      await this.reconnectLater(attempt + 1);
    }
  }

  private async reconnectLater(attempt: number): Promise<void> {
    const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
    await new Promise((r) => setTimeout(r, delay).unref());
    await this.connect(attempt);
  }

  private deliver(raw: string | undefined): void {
    if (!raw) return;
    let message: { t: string; d: unknown };
    try {
      message = JSON.parse(raw) as { t: string; d: unknown };
    } catch {
      return; // not ours
    }
    const event = new CustomEvent(message.t, { detail: message.d });
    for (const listener of this.listeners.get(message.t) ?? []) {
      if (typeof listener === 'function') listener(event);
      else listener.handleEvent(event);
    }
  }

  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void {
    if (!listener) return;
    const set = this.listeners.get(type) ?? new Set();
    set.add(listener);
    this.listeners.set(type, set);
  }

  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void {
    if (!listener) return;
    const set = this.listeners.get(type);
    set?.delete(listener);
    if (set?.size === 0) this.listeners.delete(type);
  }

  dispatchEvent(event: Event): boolean {
    const payload = JSON.stringify({ t: event.type, d: (event as CustomEvent).detail });
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) {
      throw new Error(`event payload for ${event.type} exceeds ${MAX_PAYLOAD} bytes`);
    }
    this.pool.query('select pg_notify($1, $2)', [CHANNEL, payload]).catch((err: Error) => {
      this.log.error({ err: err.message, topic: event.type }, 'failed to publish event');
    });
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

export function createAppPubSub(pool: pg.Pool, connectionString: string, log: Logger): AppPubSub {
  const target = new PgEventTarget(pool, connectionString, log);
  const pubsub = createPubSub<Topics>({ eventTarget: target as never });
  return Object.assign(pubsub, { close: () => target.close(), ready: () => target.start() });
}

/**
 * The same event as `pubsub.publish(key, id, payload)`, as SQL to run inside a transaction: PostgreSQL
 * delivers it only if and when the transaction commits, so subscribers never see a change that rolled back.
 */
export function eventNotifyQuery<K extends keyof Topics & string>(
  key: K,
  id: Topics[K][0],
  payload: Topics[K][1],
): { text: string; values: string[] } {
  return {
    text: 'select pg_notify($1, $2)',
    values: [CHANNEL, JSON.stringify({ t: `${key}:${id}`, d: payload })],
  };
}
