import { IANAZone } from 'luxon';
import { badInput } from './app-error.ts';

// Pragmatic address check (RFC 5322 is far looser); what a CRM user would type and a mail server accept.
const EMAIL = /^[^\s@"<>()[\]\\,;:]+@[^\s@"<>()[\]\\,;:]+\.[^\s@"<>()[\]\\,;:]{2,}$/;

export function isEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}

export function isTimezone(value: string): boolean {
  return IANAZone.isValidZone(value);
}

/** Trims; empty → error when required. Returns the trimmed value. */
export function requireText(field: string, value: string, max: number): string {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw badInput(field, 'must not be empty');
  if (trimmed.length > max) throw badInput(field, `must be at most ${max} characters`);
  return trimmed;
}

export function requireEmail(field: string, value: string): string {
  const trimmed = value.trim();
  if (!isEmail(trimmed)) throw badInput(field, 'must be a valid email address');
  return trimmed;
}

export function requireTimezone(field: string, value: string): string {
  if (!isTimezone(value)) throw badInput(field, 'must be an IANA time zone name, e.g. Asia/Singapore');
  return value;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids are UUIDs; anything else cannot name a row, so it is "not found" rather than a database error. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
