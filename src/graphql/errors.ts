import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { AppError } from '../shared/app-error.ts';

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

/** Whether an error is one we meant to show the client (as opposed to a bug or an infrastructure failure). */
export function isExpectedError(error: unknown): boolean {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof AppError) return original.code !== 'INTERNAL_SERVER_ERROR';
  if (original instanceof GraphQLError) {
    const code = original.extensions?.code;
    return typeof code === 'string' && (PROTOCOL_CODES.has(code) || code === 'UNAUTHORIZED');
  }
  return false;
}

/**
 * The one place where a domain error becomes `extensions.code` (API.md §4). Anything unexpected becomes
 * INTERNAL_SERVER_ERROR; in production its message is replaced, so no SQL or stack reaches a client.
 */
export function formatError(production: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    const base = { locations: formatted.locations, path: formatted.path };
    if (original instanceof AppError) {
      return { ...base, message: original.message, extensions: { code: original.code, ...original.details } };
    }
    if (original instanceof GraphQLError) {
      const code = original.extensions?.code;
      // type-graphql's AuthorizationError says UNAUTHORIZED; our contract says FORBIDDEN.
      if (code === 'UNAUTHORIZED') {
        return { ...base, message: 'Your role may not do this', extensions: { code: 'FORBIDDEN' } };
      }
      if (typeof code === 'string' && PROTOCOL_CODES.has(code)) {
        const { stacktrace: _omit, ...extensions } = formatted.extensions ?? {};
        return { ...base, message: formatted.message, extensions: { ...extensions, code } };
      }
    }
    return {
      ...base,
      message: production ? 'Internal server error' : formatted.message,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
