import { withTransaction, type TxScope } from '../../db/transaction.ts';
import { decodeCursor, pageSize, toConnection, type ConnectionShape } from '../../graphql/connection.ts';
import { badInput, notFound } from '../../shared/app-error.ts';
import { isUuid } from '../../shared/validation.ts';
import type { ActivityService } from '../activity/activity.service.ts';
import type { Viewer } from '../auth/auth.types.ts';
import { resolveAllowed } from './webhook-address.ts';
import { secretContext, type WebhookDeliveryService, type WebhookDeps } from './webhook-delivery.service.ts';
import { generateSecret } from './webhook-signing.ts';
import * as repo from './webhook.repository.ts';
import { WebhookEventType, type WebhookEndpointInput, type WebhookEventTypeName } from './webhook.types.ts';

export const MAX_ENDPOINTS = 20;
const MAX_URL = 2048;

export interface EndpointWithSecret {
  endpoint: repo.EndpointRow;
  secret: string;
}

/** Webhook endpoints of an organization (ADMIN): create, update, rotate the secret, delete; the delivery log. */
export class WebhookService {
  constructor(
    private readonly deps: WebhookDeps & { activity: ActivityService },
    readonly delivery: WebhookDeliveryService,
  ) {}

  list(organizationId: string): Promise<repo.EndpointRow[]> {
    return repo.listEndpoints(this.deps.pool, organizationId);
  }

  async create(viewer: Viewer, input: WebhookEndpointInput): Promise<EndpointWithSecret> {
    const checked = await this.checkInput(input);
    const secret = generateSecret();
    return withTransaction(this.deps.pool, async (tx) => {
      // The organization's row lock keeps two concurrent creations from both passing the count.
      await tx.q.query('SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE', [viewer.organizationId]);
      if ((await repo.countEndpoints(tx.q, viewer.organizationId)) >= MAX_ENDPOINTS) {
        throw badInput('input', `an organization may have at most ${MAX_ENDPOINTS} webhook endpoints`);
      }
      const endpoint = await repo.insertEndpoint(tx.q, {
        organizationId: viewer.organizationId, ...checked, enabled: input.enabled ?? true,
        secretCiphertext: this.seal(viewer.organizationId, secret), at: this.deps.clock.now(),
      });
      await this.record(tx, viewer, endpoint, 'webhook.endpoint_created', 'Webhook endpoint created', { after: describe(endpoint) });
      return { endpoint, secret };
    });
  }

  async update(viewer: Viewer, id: string, input: WebhookEndpointInput): Promise<repo.EndpointRow> {
    if (!isUuid(id)) throw notFound('webhook endpoint');
    const checked = await this.checkInput(input);
    return withTransaction(this.deps.pool, async (tx) => {
      const before = await repo.findEndpoint(tx.q, viewer.organizationId, id, true);
      if (!before) throw notFound('webhook endpoint');
      const endpoint = (await repo.updateEndpoint(tx.q, viewer.organizationId, id, {
        ...checked, enabled: input.enabled ?? before.enabled, at: this.deps.clock.now(),
      }))!;
      await this.record(tx, viewer, endpoint, 'webhook.endpoint_updated', 'Webhook endpoint updated', { before: describe(before), after: describe(endpoint) });
      return endpoint;
    });
  }

  async rotateSecret(viewer: Viewer, id: string): Promise<EndpointWithSecret> {
    if (!isUuid(id)) throw notFound('webhook endpoint');
    const secret = generateSecret();
    return withTransaction(this.deps.pool, async (tx) => {
      const endpoint = await repo.updateEndpoint(tx.q, viewer.organizationId, id, {
        secretCiphertext: this.seal(viewer.organizationId, secret), at: this.deps.clock.now(),
      });
      if (!endpoint) throw notFound('webhook endpoint');
      await this.record(tx, viewer, endpoint, 'webhook.secret_rotated', 'Webhook signing secret rotated', {});
      return { endpoint, secret };
    });
  }

  async remove(viewer: Viewer, id: string): Promise<boolean> {
    if (!isUuid(id)) throw notFound('webhook endpoint');
    return withTransaction(this.deps.pool, async (tx) => {
      const endpoint = await repo.findEndpoint(tx.q, viewer.organizationId, id, true);
      if (!endpoint) throw notFound('webhook endpoint');
      await repo.deleteEndpoint(tx.q, viewer.organizationId, id);
      await this.record(tx, viewer, endpoint, 'webhook.endpoint_deleted', 'Webhook endpoint deleted', { before: describe(endpoint) });
      return true;
    });
  }

  async deliveries(
    organizationId: string,
    endpointId: string,
    args: { first?: number | null; after?: string | null },
  ): Promise<ConnectionShape<repo.DeliveryRow>> {
    if (!isUuid(endpointId) || !(await repo.findEndpoint(this.deps.pool, organizationId, endpointId))) throw notFound('webhook endpoint');
    const limit = pageSize(args.first);
    const cursor = decodeCursor(args.after, 2);
    const [createdAt, id] = cursor ?? [];
    if (cursor && (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)) || typeof id !== 'string' || !isUuid(id))) {
      throw badInput('after', 'is not a cursor returned by this list');
    }
    const before = cursor ? { createdAt: new Date(createdAt as string), id: id as string } : undefined;
    const rows = await repo.listDeliveries(this.deps.pool, organizationId, endpointId, limit + 1, before);
    return toConnection(rows, limit, (r) => r, (r) => [r.createdAt.toISOString(), r.id], () => repo.countDeliveries(this.deps.pool, organizationId, endpointId));
  }

  async redeliver(viewer: Viewer, deliveryId: string): Promise<repo.DeliveryRow> {
    if (!isUuid(deliveryId)) throw notFound('webhook delivery');
    return withTransaction(this.deps.pool, async (tx) => {
      const delivery = await repo.findDelivery(tx.q, viewer.organizationId, deliveryId);
      if (!delivery) throw notFound('webhook delivery');
      // Serializes redeliveries of one endpoint, so two of the same event never take the same attempt number.
      await repo.findEndpoint(tx.q, viewer.organizationId, delivery.endpointId, true);
      return this.delivery.redeliver(tx.q, delivery);
    });
  }

  /** Checks everything before anything is written; the URL's host is resolved and judged now. */
  private async checkInput(input: WebhookEndpointInput): Promise<{ url: string; events: WebhookEventTypeName[] }> {
    const raw = input.url.trim();
    const url = raw.length <= MAX_URL ? URL.parse(raw) : null;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      throw badInput('url', `must be an http or https URL of at most ${MAX_URL} characters`);
    }
    if (url.username || url.password) throw badInput('url', 'must not hold credentials (use the signature to authenticate)');
    const verdict = await resolveAllowed(url, this.deps.options.resolver, this.deps.allowPrivate);
    if (!verdict.ok) throw badInput('url', `is refused: ${verdict.reason}`);
    const events = [...new Set(input.events)];
    if (events.length === 0) throw badInput('events', 'must name at least one event type');
    if (events.some((e) => !(e in WebhookEventType))) throw badInput('events', 'must be WebhookEventType values');
    return { url: url.href, events };
  }

  private seal(organizationId: string, secret: string): Buffer {
    return this.deps.cipher.encrypt(secret, secretContext(organizationId));
  }

  private async record(tx: TxScope, viewer: Viewer, endpoint: repo.EndpointRow, kind: string, summary: string, data: Record<string, unknown>): Promise<void> {
    await this.deps.activity.record(
      { organizationId: viewer.organizationId, kind, actorId: viewer.userId, summary, subjectType: 'WEBHOOK_ENDPOINT', subjectId: endpoint.id, data },
      tx.db,
    );
  }
}

/** What the audit trail keeps of an endpoint: the host (a URL's path or query may hold tokens), events, switch. */
function describe(endpoint: repo.EndpointRow): Record<string, unknown> {
  return { host: new URL(endpoint.url).host, events: endpoint.events, enabled: endpoint.enabled };
}
