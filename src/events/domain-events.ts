import type pg from 'pg';

/**
 * Facts that leave the service (email, webhooks). Ids and counts only, never personal data: each consumer
 * loads what it needs, scoped to the event's organization, when its job runs.
 */
export type DomainEvent =
  | { type: 'backup.completed'; organizationId: string; backupId: string }
  | { type: 'backup.failed'; organizationId: string; backupId: string }
  | { type: 'import.completed'; organizationId: string; importId: string }
  | { type: 'import.failed'; organizationId: string; importId: string }
  | { type: 'retention.swept'; organizationId: string; expired: number; masked: number; deleted: number }
  /** The advance notice of records due for masking or deletion (the in-app notification's text, counts only). */
  | { type: 'retention.notice'; organizationId: string; title: string; body: string };

export type DomainEventType = DomainEvent['type'];

/** A consumer: enqueues its own durable work (pg-boss jobs, rows) on `client`, inside the producer's transaction. */
export type DomainEventConsumer = (client: Pick<pg.PoolClient, 'query'>, event: DomainEvent) => Promise<void>;

/**
 * Publish/subscribe for events that must not be lost. LISTEN/NOTIFY (event-bus.ts) is heard by every process,
 * and only by those listening at that moment: right for live subscriptions, wrong for an email or a webhook,
 * which must be sent once even when no worker runs. So consumers subscribe here, in the composition root, and
 * each `emit` runs them inside the transaction of the change: their jobs commit with it, or not at all, and
 * pg-boss then retries them on any worker.
 */
export class DomainEvents {
  private readonly consumers: DomainEventConsumer[] = [];

  subscribe(consumer: DomainEventConsumer): void {
    this.consumers.push(consumer);
  }

  async emit(client: Pick<pg.PoolClient, 'query'>, event: DomainEvent): Promise<void> {
    for (const consumer of this.consumers) await consumer(client, event);
  }
}
