import type { GraphQLFormattedError } from 'graphql';
import { DrizzleQueryError } from '../db/drizzle-orm.ts';
import { GraphQLError } from 'graphql';
import { AppError } from '../shared/app-error.ts';
import { isTooManyTokens, TOO_LARGE_MESSAGE } from './query-limits.ts';

/** Codes that graphql-js and Apollo produce for malformed requests; passed through unchanged. */
const PROTOCOL_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'UNAUTHENTICATED',
  'QUERY_TOO_COMPLEX',
]);

/**
 * The protocol code of an error: the wrapped error's own (QUERY_TOO_COMPLEX inside Apollo's
 * GRAPHQL_VALIDATION_FAILED), else the wrapper's. Apollo reports a bad variable as BAD_USER_INPUT wrapping
 * graphql-js's code-less scalar error ("Float cannot represent…"), which alone would read as a failure of ours.
 */
function protocolCode(error: unknown): string | undefined {
  const candidates = error instanceof GraphQLError ? [error.originalError, error] : [error];
  for (const candidate of candidates) {
    const code = candidate instanceof GraphQLError ? candidate.extensions?.code : undefined;
    if (typeof code === 'string' && (PROTOCOL_CODES.has(code) || code === 'UNAUTHORIZED')) return code;
  }
  return undefined;
}

/** `Variable "$input" got invalid value -1 at "input.amount"; …` → `amount`, like our own BAD_USER_INPUT. */
function variableField(message: string): string | undefined {
  const path = /^Variable "\$\w+" got invalid value .* at "\w+((?:\.\w+|\[\d+\])+)"; /s.exec(message)?.[1];
  return path?.match(/\.(\w+)/g)?.at(-1)?.slice(1);
}

/**
 * What to log of an unexpected error. drizzle's "Failed query: … params: …" (message and stack) carries the
 * query parameters — emails, names, token hashes — so log the database's own error instead.
 */
export function errorForLog(error: unknown): { err: string; stack?: string } {
  let cause = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (cause instanceof DrizzleQueryError) cause = cause.cause ?? new Error('database query failed');
  return cause instanceof Error ? { err: cause.message, stack: cause.stack } : { err: String(cause) };
}

/**
 * PostgreSQL's query_canceled (57014): GRAPHQL_STATEMENT_TIMEOUT_MS ran out (db-governor.ts), or an operator
 * cancelled the statement. drizzle wraps the pg error as its `cause`.
 */
function isCancelledStatement(error: unknown): boolean {
  for (let e = error, i = 0; e instanceof Error && i < 4; e = e.cause, i++) {
    if ((e as { code?: unknown }).code === '57014') return true;
  }
  return false;
}

const CANCELLED_MESSAGE =
  'The query ran longer than this server allows and was cancelled; ask for less (a smaller page, no totalCount) and retry';

/** Whether an error is one we meant to show the client (as opposed to a bug or an infrastructure failure). */
export function isExpectedError(error: unknown): boolean {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof AppError) return original.code !== 'INTERNAL_SERVER_ERROR';
  return protocolCode(error) !== undefined || isCancelledStatement(original);
}

/**
 * The one place where a domain error becomes `extensions.code` (API.md §4). Anything unexpected becomes
 * INTERNAL_SERVER_ERROR; its message is replaced (`hideInternals`: any NODE_ENV but an explicit
 * "development"), so no SQL or stack reaches a client.
 */
export function formatError(hideInternals: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    const base = { locations: formatted.locations, path: formatted.path };
    if (original instanceof AppError) {
      return { ...base, message: original.message, extensions: { code: original.code, ...original.details } };
    }
    if (isCancelledStatement(original)) return { ...base, message: CANCELLED_MESSAGE, extensions: { code: 'QUERY_TIMEOUT' } };
    // The parser stopped at MAX_TOKENS: a size limit like cost and depth, so the same code (not a syntax error).
    if (isTooManyTokens(formatted.message)) return { message: TOO_LARGE_MESSAGE, extensions: { code: 'QUERY_TOO_COMPLEX' } };
    const code = protocolCode(error);
    // type-graphql's AuthorizationError says UNAUTHORIZED; our contract says FORBIDDEN.
    if (code === 'UNAUTHORIZED') {
      return { ...base, message: 'Your role may not do this', extensions: { code: 'FORBIDDEN' } };
    }
    if (code !== undefined) {
      const { stacktrace: _omit, ...extensions } = formatted.extensions ?? {};
      const field = code === 'BAD_USER_INPUT' ? variableField(formatted.message) : undefined;
      return { ...base, message: formatted.message, extensions: { ...extensions, code, ...(field ? { field } : {}) } };
    }
    return {
      ...base,
      message: hideInternals ? 'Internal server error' : formatted.message,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
