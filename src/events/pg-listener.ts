import pg from 'pg';
import type { Logger } from '../shared/logger.ts';
import { EVENT_CHANNEL, type EventMessage } from './event-topics.ts';

/**
 * One LISTEN connection per process on the events channel, reconnected with backoff when lost. Hands every
 * message of ours to `deliver`; knows nothing of topics or consumers.
 */
export class PgListener {
  private client: pg.Client | undefined;
  private closed = false;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly log: Logger,
    private readonly deliver: (message: EventMessage) => void,
    /** After a lost connection is back: notifications sent meanwhile were missed. */
    private readonly reconnected: () => void = () => undefined,
  ) {}

  start(): Promise<void> {
    this.connecting ??= this.connect(0);
    return this.connecting;
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(attempt: number): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.connectionString, application_name: 'crm-data-admin-listen' });
    client.on('notification', (msg) => this.receive(msg.payload));
    client.on('error', (err) => this.log.warn({ err: err.message }, 'event listener connection error'));
    client.on('end', () => {
      if (this.closed || this.client !== client) return;
      this.client = undefined;
      this.log.warn('event listener connection lost; reconnecting');
      void this.reconnectLater(1);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENT_CHANNEL}`);
      this.client = client;
      if (this.closed) await client.end();
      else if (attempt > 0) this.reconnected();
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

  private receive(raw: string | undefined): void {
    if (!raw) return;
    let message: EventMessage;
    try {
      message = JSON.parse(raw) as EventMessage;
    } catch {
      return; // not ours
    }
    if (typeof message?.t === 'string') this.deliver(message);
  }
}
