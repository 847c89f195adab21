import type pg from 'pg';

export type Queryable = Pick<pg.PoolClient, 'query'>;

export interface EndpointRow {
  id: string;
  organizationId: string;
  url: string;
  events: string[];
  enabled: boolean;
  secretCiphertext: Buffer;
  createdAt: Date;
}

export interface DeliveryRow {
  id: string;
  organizationId: string;
  endpointId: string;
  webhookId: string;
  event: string;
  payload: Record<string, unknown>;
  attempt: number;
  lastAttempt: number;
  status: 'PENDING' | 'DELIVERED' | 'RETRYING' | 'FAILED';
  responseStatus: number | null;
  error: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

const ENDPOINT = `id, organization_id AS "organizationId", url, events, enabled, secret_ciphertext AS "secretCiphertext",
  created_at AS "createdAt"`;
const DELIVERY = `id, organization_id AS "organizationId", endpoint_id AS "endpointId", webhook_id AS "webhookId", event,
  payload, attempt, last_attempt AS "lastAttempt", status, response_status AS "responseStatus", error,
  created_at AS "createdAt", delivered_at AS "deliveredAt"`;

export async function insertEndpoint(
  q: Queryable,
  v: { organizationId: string; url: string; events: string[]; enabled: boolean; secretCiphertext: Buffer; at: Date },
): Promise<EndpointRow> {
  const { rows } = await q.query<EndpointRow>(
    `INSERT INTO webhook_endpoints (organization_id, url, events, enabled, secret_ciphertext, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING ${ENDPOINT}`,
    [v.organizationId, v.url, v.events, v.enabled, v.secretCiphertext, v.at],
  );
  return rows[0]!;
}

export async function updateEndpoint(
  q: Queryable,
  organizationId: string,
  id: string,
  v: { url?: string; events?: string[]; enabled?: boolean; secretCiphertext?: Buffer; at: Date },
): Promise<EndpointRow | undefined> {
  const { rows } = await q.query<EndpointRow>(
    `UPDATE webhook_endpoints SET url = coalesce($3, url), events = coalesce($4, events), enabled = coalesce($5, enabled),
       secret_ciphertext = coalesce($6, secret_ciphertext), updated_at = $7
     WHERE organization_id = $1 AND id = $2 RETURNING ${ENDPOINT}`,
    [organizationId, id, v.url ?? null, v.events ?? null, v.enabled ?? null, v.secretCiphertext ?? null, v.at],
  );
  return rows[0];
}

export async function findEndpoint(q: Queryable, organizationId: string, id: string, lock = false): Promise<EndpointRow | undefined> {
  const { rows } = await q.query<EndpointRow>(
    `SELECT ${ENDPOINT} FROM webhook_endpoints WHERE organization_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    [organizationId, id],
  );
  return rows[0];
}

export async function listEndpoints(q: Queryable, organizationId: string): Promise<EndpointRow[]> {
  const { rows } = await q.query<EndpointRow>(
    `SELECT ${ENDPOINT} FROM webhook_endpoints WHERE organization_id = $1 ORDER BY created_at, id`,
    [organizationId],
  );
  return rows;
}

export async function countEndpoints(q: Queryable, organizationId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_endpoints WHERE organization_id = $1', [organizationId]);
  return rows[0]!.n;
}

export async function deleteEndpoint(q: Queryable, organizationId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM webhook_endpoints WHERE organization_id = $1 AND id = $2', [organizationId, id]);
  return (rowCount ?? 0) > 0;
}

/** The enabled endpoints of an organization that subscribe to `event`. */
export async function subscribedEndpoints(q: Queryable, organizationId: string, event: string): Promise<EndpointRow[]> {
  const { rows } = await q.query<EndpointRow>(
    `SELECT ${ENDPOINT} FROM webhook_endpoints WHERE organization_id = $1 AND enabled AND $2 = ANY(events) ORDER BY id`,
    [organizationId, event],
  );
  return rows;
}

export async function insertDelivery(
  q: Queryable,
  v: Pick<DeliveryRow, 'organizationId' | 'endpointId' | 'webhookId' | 'event' | 'payload' | 'attempt' | 'lastAttempt'> & { at: Date },
): Promise<DeliveryRow> {
  const { rows } = await q.query<DeliveryRow>(
    `INSERT INTO webhook_deliveries (organization_id, endpoint_id, webhook_id, event, payload, attempt, last_attempt, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${DELIVERY}`,
    [v.organizationId, v.endpointId, v.webhookId, v.event, JSON.stringify(v.payload), v.attempt, v.lastAttempt, v.at],
  );
  return rows[0]!;
}

export async function findDelivery(q: Queryable, organizationId: string, id: string): Promise<DeliveryRow | undefined> {
  const { rows } = await q.query<DeliveryRow>(`SELECT ${DELIVERY} FROM webhook_deliveries WHERE organization_id = $1 AND id = $2`, [organizationId, id]);
  return rows[0];
}

/** Unscoped: for the delivery job, which carries the id it was given in the event's transaction. */
export async function findDeliveryById(q: Queryable, id: string): Promise<DeliveryRow | undefined> {
  const { rows } = await q.query<DeliveryRow>(`SELECT ${DELIVERY} FROM webhook_deliveries WHERE id = $1`, [id]);
  return rows[0];
}

/** PENDING → an outcome; the WHERE is the fence: a second run of the same job changes nothing. */
export async function finishAttempt(
  q: Queryable,
  id: string,
  v: { status: 'DELIVERED' | 'RETRYING' | 'FAILED'; responseStatus: number | null; error: string | null; at: Date },
): Promise<DeliveryRow | undefined> {
  const { rows } = await q.query<DeliveryRow>(
    `UPDATE webhook_deliveries SET status = $2, response_status = $3, error = $4,
       delivered_at = CASE WHEN $2 = 'DELIVERED' THEN $5::timestamptz END
     WHERE id = $1 AND status = 'PENDING' RETURNING ${DELIVERY}`,
    [id, v.status, v.responseStatus, v.error, v.at],
  );
  return rows[0];
}

export async function lastAttemptOf(q: Queryable, endpointId: string, webhookId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    'SELECT coalesce(max(attempt), 0)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND webhook_id = $2',
    [endpointId, webhookId],
  );
  return rows[0]!.n;
}

/** Newest first, keyset on (created_at, id); fetches `limit` rows. */
export async function listDeliveries(
  q: Queryable,
  organizationId: string,
  endpointId: string,
  limit: number,
  before?: { createdAt: Date; id: string },
): Promise<DeliveryRow[]> {
  const { rows } = await q.query<DeliveryRow>(
    `SELECT ${DELIVERY} FROM webhook_deliveries WHERE organization_id = $1 AND endpoint_id = $2
       AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $5`,
    [organizationId, endpointId, before?.createdAt ?? null, before?.id ?? null, limit],
  );
  return rows;
}

export async function countDeliveries(q: Queryable, organizationId: string, endpointId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_deliveries WHERE organization_id = $1 AND endpoint_id = $2',
    [organizationId, endpointId],
  );
  return rows[0]!.n;
}

/** Deletes deliveries created before `before`, at most `limit` (one short statement). */
export async function pruneDeliveries(q: Queryable, before: Date, limit: number): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE created_at < $1 ORDER BY created_at LIMIT $2)`,
    [before, limit],
  );
  return rowCount ?? 0;
}
