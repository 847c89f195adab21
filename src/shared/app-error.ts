/**
 * The error codes a client can act on (API.md §4). Services throw AppError; the GraphQL layer maps it to
 * `extensions.code` in one place (src/graphql/errors.ts) and HTTP handlers map it to a status code.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'BACKUP_IN_PROGRESS'
  | 'BACKUP_ALREADY_STARTED'
  | 'BACKUP_NOT_CANCELLABLE'
  | 'BACKUP_NOT_DOWNLOADABLE'
  | 'MASKED_RECORD_ADMIN_ONLY'
  /** A masked record whose originals are not in the vault (e.g. it came back from a backup): it stays masked. */
  | 'RECORD_NOT_UNMASKABLE'
  /** Deleting a record on legal hold (anyone), or a STANDARD user's change to one. */
  | 'RECORD_ON_LEGAL_HOLD'
  /** Over RATE_LIMIT_PER_MINUTE; `retryAfterSeconds` in the details (HTTP 429 with Retry-After). */
  | 'RATE_LIMITED'
  /** A GraphQL operation's statement ran past GRAPHQL_STATEMENT_TIMEOUT_MS, or waited that long for a database slot. */
  | 'QUERY_TIMEOUT'
  | 'INTERNAL_SERVER_ERROR';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string): AppError => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = (message = 'Your role may not do this'): AppError =>
  new AppError('FORBIDDEN', message);
/** A bad field: the message names the field and the rule, e.g. `email: must be a valid email address`. */
export const badInput = (field: string, rule: string): AppError =>
  new AppError('BAD_USER_INPUT', `${field}: ${rule}`, { field });
