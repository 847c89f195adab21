import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config.ts';
import { CRM_MODULE_NAMES, personalFields } from '../modules/crm/crm.modules.ts';

/**
 * Paths never written to a log: credentials, and the personal fields of CRM records (PDPA/GDPR). Code should
 * not log them in the first place; this is the net under it.
 */
const REDACT = [
  'token',
  '*.token',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'connectionParams',
  'appSecret',
  // Every field the CRM registry marks personal, and record names (an account or deal may be named after a person).
  ...[...new Set([...CRM_MODULE_NAMES.flatMap(personalFields), 'name'])].flatMap((f) => [f, `*.${f}`]),
];

/** `destination`: tests pass a stream to read what would be logged. */
export function createLogger(
  level: LogLevel,
  bindings: Record<string, unknown> = {},
  destination: pino.DestinationStream = pino.destination(2),
): Logger {
  return pino({
    level,
    base: { service: 'crm-data-admin', ...bindings },
    redact: { paths: REDACT, censor: '[redacted]' },
    // Logs go to stderr: CLI commands print their JSON result alone on stdout.
  }, destination);
}

export type { Logger };
