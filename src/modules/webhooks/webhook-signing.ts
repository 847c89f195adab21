import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com): a secret is `whsec_` + base64 of random bytes; the
 * signature is `v1,` + base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`, keyed by the secret's bytes. Pure.
 */
export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

export function signPayload(secret: string, webhookId: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${webhookId}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** A message id, the same on every attempt of one event. */
export function newWebhookId(): string {
  return `msg_${randomBytes(16).toString('base64url')}`;
}
