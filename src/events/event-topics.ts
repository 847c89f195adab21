/**
 * Every topic, with the id that routes it and its payload. Payloads carry ids, not records: consumers load
 * what they need, scoped to their own organization, so a NOTIFY never carries personal data.
 */
export type Topics = {
  backupEvent: [organizationId: string, payload: { backupId: string; kind: string; at: string }];
  notificationAdded: [userId: string, payload: { notificationId: string }];
  importJobUpdated: [importJobId: string, payload: { importJobId: string }];
  /** The organization's retention settings changed, or a recompute or clearing of its record dates ended. */
  retentionSettingsChanged: [organizationId: string, payload: { reason: 'SETTINGS' | 'RECOMPUTE_FINISHED' }];
  /** An API token was revoked: every api process drops it from its token cache and closes its sockets (4403). */
  tokenRevoked: [tokenId: string, payload: { tokenId: string }];
};

export type TopicName = keyof Topics & string;

/** The one LISTEN/NOTIFY channel of the service. */
export const EVENT_CHANNEL = 'crm_data_admin_events';

/** NOTIFY's limit is 8000 bytes. */
export const MAX_EVENT_PAYLOAD = 7900;

/** The wire form of an event: `t` is `topic:id` (ids are uuids, never holding a colon), `d` the payload. */
export interface EventMessage {
  t: string;
  d: unknown;
}

export function encodeEvent<K extends TopicName>(topic: K, id: Topics[K][0], payload: Topics[K][1]): string {
  const text = JSON.stringify({ t: `${topic}:${id}`, d: payload } satisfies EventMessage);
  if (Buffer.byteLength(text) > MAX_EVENT_PAYLOAD) throw new Error(`event payload for ${topic} exceeds ${MAX_EVENT_PAYLOAD} bytes`);
  return text;
}

/**
 * The same event as `EventBus.publish`, as SQL to run inside a transaction: PostgreSQL delivers it only if and
 * when the transaction commits, so consumers never hear of a change that rolled back.
 */
export function eventNotifyQuery<K extends TopicName>(topic: K, id: Topics[K][0], payload: Topics[K][1]): { text: string; values: string[] } {
  return { text: 'select pg_notify($1, $2)', values: [EVENT_CHANNEL, encodeEvent(topic, id, payload)] };
}
