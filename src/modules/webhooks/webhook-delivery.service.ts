import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { withTransaction } from '../../db/transaction.ts';
import type { DomainEventConsumer } from '../../events/domain-events.ts';
import { enqueueInTransaction } from '../../jobs/job-enqueue.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { VaultCipher } from '../retention/vault-crypto.ts';
import { resolveAllowed, type HostResolver } from './webhook-address.ts';
import { postPinned } from './webhook-http.ts';
import { webhookData, webhookEventOf } from './webhook-payloads.ts';
import { newWebhookId, signPayload } from './webhook-signing.ts';
import * as repo from './webhook.repository.ts';
import { WIRE_TYPE, type WebhookEventTypeName } from './webhook.types.ts';

export const WEBHOOK_QUEUE = 'webhook-deliver';
export const MAX_ATTEMPTS = 8;
export const TIMEOUT_MS = 10_000;

export interface WebhookJob {
  deliveryId: string;
}

/** Settings of webhook delivery fixed when the service is built (tests pass a short backoff). */
export interface WebhookOptions {
  /** Seconds before the 2nd attempt; doubles for each one after (default 10: 10 s … about 21 min in all). */
  retryBaseSeconds: number;
  /** How webhook hosts are resolved, at creation and at every delivery. */
  resolver: HostResolver;
}

export interface WebhookDeps {
  pool: pg.Pool;
  boss: PgBoss;
  clock: Clock;
  log: Logger;
  cipher: VaultCipher;
  allowPrivate: boolean;
  options: WebhookOptions;
}

export const secretContext = (organizationId: string) => `webhook-secret:${organizationId}`;

/**
 * Deliveries (Standard Webhooks): one row per attempt, each attempt a job. An event becomes attempt 1 of every
 * subscribed endpoint in the event's own transaction; a failed attempt (non-2xx, timeout, connection error)
 * writes its outcome and the next attempt, with its job delayed exponentially, in one transaction; the 8th
 * failure is FAILED. Every attempt checks the address again (DNS may have changed since creation).
 */
export class WebhookDeliveryService {
  constructor(private readonly deps: WebhookDeps) {}

  readonly consumer: DomainEventConsumer = async (client, event) => {
    const type = webhookEventOf(event);
    if (!type) return;
    const endpoints = await repo.subscribedEndpoints(client, event.organizationId, type);
    if (endpoints.length === 0) return;
    const data = await webhookData(client, event);
    if (!data) return;
    const at = this.deps.clock.now();
    const payload = { type: WIRE_TYPE[type], timestamp: at.toISOString(), data };
    for (const endpoint of endpoints) {
      const row = await repo.insertDelivery(client, {
        organizationId: event.organizationId, endpointId: endpoint.id, webhookId: newWebhookId(), event: type, payload,
        attempt: 1, lastAttempt: MAX_ATTEMPTS, at,
      });
      await enqueueInTransaction(this.deps.boss, client, WEBHOOK_QUEUE, { deliveryId: row.id } satisfies WebhookJob);
    }
  };

  /** A new attempt of a delivery's event, with the same webhook-id; one attempt, no automatic retries. */
  async redeliver(client: repo.Queryable, delivery: repo.DeliveryRow): Promise<repo.DeliveryRow> {
    const attempt = (await repo.lastAttemptOf(client, delivery.endpointId, delivery.webhookId)) + 1;
    const row = await repo.insertDelivery(client, { ...delivery, attempt, lastAttempt: attempt, at: this.deps.clock.now() });
    await enqueueInTransaction(this.deps.boss, client, WEBHOOK_QUEUE, { deliveryId: row.id } satisfies WebhookJob);
    return row;
  }

  /** Runs one attempt. Safe to run twice: only a PENDING attempt is sent, and its outcome is written once. */
  async deliver(job: WebhookJob): Promise<void> {
    const { deps } = this;
    const delivery = await repo.findDeliveryById(deps.pool, job.deliveryId);
    if (!delivery || delivery.status !== 'PENDING') return;
    const endpoint = await repo.findEndpoint(deps.pool, delivery.organizationId, delivery.endpointId);
    if (!endpoint) return; // deleted: its deliveries went with it
    if (!endpoint.enabled) return this.record(delivery, { ok: false, status: null, error: 'the endpoint is disabled' }, false);
    const url = new URL(endpoint.url);
    const verdict = await resolveAllowed(url, deps.options.resolver, deps.allowPrivate);
    if (!verdict.ok) return this.record(delivery, { ok: false, status: null, error: `refused: ${verdict.reason}` }, false);
    const body = JSON.stringify(delivery.payload);
    const timestamp = Math.floor(deps.clock.now().getTime() / 1000);
    const secret = deps.cipher.decrypt(endpoint.secretCiphertext, secretContext(endpoint.organizationId)).toString('utf8');
    const headers = {
      'webhook-id': delivery.webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signPayload(secret, delivery.webhookId, timestamp, body),
    };
    const outcome = await postPinned(url, verdict, headers, body, TIMEOUT_MS);
    await this.record(delivery, outcome, true);
  }

  /** Writes an attempt's outcome and, when it failed and may be retried, the next attempt and its job. */
  private async record(delivery: repo.DeliveryRow, outcome: Awaited<ReturnType<typeof postPinned>>, retriable: boolean): Promise<void> {
    const { deps } = this;
    const retry = !outcome.ok && retriable && delivery.attempt < delivery.lastAttempt;
    await withTransaction(deps.pool, async (tx) => {
      const at = deps.clock.now();
      const done = await repo.finishAttempt(tx.q, delivery.id, {
        status: outcome.ok ? 'DELIVERED' : retry ? 'RETRYING' : 'FAILED',
        responseStatus: outcome.status,
        error: outcome.ok ? null : outcome.error,
        at,
      });
      if (!done || !retry) return;
      const next = await repo.insertDelivery(tx.q, { ...delivery, attempt: delivery.attempt + 1, at });
      const delay = deps.options.retryBaseSeconds * 2 ** (delivery.attempt - 1);
      await enqueueInTransaction(deps.boss, tx.q, WEBHOOK_QUEUE, { deliveryId: next.id } satisfies WebhookJob, { startAfterSeconds: delay });
    });
    deps.log.info({ deliveryId: delivery.id, attempt: delivery.attempt, ok: outcome.ok, status: outcome.status }, 'webhook attempt');
  }

  /** Deliveries older than `before`, in batches. */
  async prune(before: Date, batch = 5_000): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await repo.pruneDeliveries(this.deps.pool, before, batch);
      total += n;
      if (n < batch) return total;
    }
  }
}

export type { WebhookEventTypeName };
