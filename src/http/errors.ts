import { CloseCode } from 'graphql-ws';
import { AppError } from '../shared/app-error.ts';

/** Codes the edge answers with besides the domain's (API.md §2, §4): a refused request, before any GraphQL. */
export type EdgeCode = 'BAD_REQUEST' | 'CSRF_PREVENTED' | 'PAYLOAD_TOO_LARGE';

/** A request refused by the edge itself (CSRF, an oversized upload), with a code of its own. */
export class EdgeError extends Error {
  constructor(
    readonly code: EdgeCode,
    message: string,
  ) {
    super(message);
    this.name = 'EdgeError';
  }
}

/**
 * No usable token (`tokenSent` false: nothing, or not a bearer token) or a token that names no live user.
 * graphql-ws tells the two apart by close code (4401 / 4403); HTTP answers 401 to both.
 */
export class AuthenticationError extends AppError {
  constructor(readonly tokenSent: boolean) {
    super('UNAUTHENTICATED', tokenSent ? 'Unknown, revoked or malformed API token' : 'Send an API token: Authorization: Bearer <token>');
    this.name = 'AuthenticationError';
  }
}

/** The one table of where a code is answered: its HTTP status and the close code of a refused WebSocket. */
const EDGE_CODES: Record<string, { status: number; close: number }> = {
  UNAUTHENTICATED: { status: 401, close: CloseCode.Unauthorized },
  FORBIDDEN: { status: 403, close: CloseCode.Forbidden },
  NOT_FOUND: { status: 404, close: CloseCode.BadRequest },
  BAD_USER_INPUT: { status: 400, close: CloseCode.BadRequest },
  BAD_REQUEST: { status: 400, close: CloseCode.BadRequest },
  CSRF_PREVENTED: { status: 400, close: CloseCode.BadRequest },
  PAYLOAD_TOO_LARGE: { status: 413, close: CloseCode.BadRequest },
  // An operation over the limit gets the error and its socket stays open; only a connection_init from an address
  // over its budget of refused tokens is closed, with graphql-ws's "too many requests" code.
  RATE_LIMITED: { status: 429, close: CloseCode.TooManyInitialisationRequests },
};

/** An error as the edge answers it: code and message for the body, HTTP status, WebSocket close code. */
export interface EdgeFailure {
  code: string;
  message: string;
  status: number;
  closeCode: number;
  /** False for bugs and infrastructure failures: those are logged, and their message never reaches a client. */
  expected: boolean;
}

const INTERNAL: EdgeFailure = {
  code: 'INTERNAL_SERVER_ERROR',
  message: 'Internal server error',
  status: 500,
  closeCode: CloseCode.InternalServerError,
  expected: false,
};

/** Maps an error met outside GraphQL execution (authentication, CSRF, uploads, body parsing) for any transport. */
export function edgeFailure(error: unknown): EdgeFailure {
  if (error instanceof AppError || error instanceof EdgeError) {
    const edge = EDGE_CODES[error.code];
    if (!edge) return INTERNAL;
    const closeCode = error instanceof AuthenticationError && error.tokenSent ? CloseCode.Forbidden : edge.close;
    return { code: error.code, message: error.message, status: edge.status, closeCode, expected: true };
  }
  // body-parser's errors (malformed or oversized JSON) carry their 4xx status and say whether the message is safe.
  const { status, expose, message } = (error ?? {}) as { status?: unknown; expose?: unknown; message?: unknown };
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const text = expose === true ? String(message) : 'Bad request';
    return { code: 'BAD_REQUEST', message: text, status, closeCode: CloseCode.BadRequest, expected: true };
  }
  return INTERNAL;
}

/** The body of a refusal on /graphql: shaped like a GraphQL response, so GraphQL clients can read it. */
export const graphqlErrorBody = (failure: EdgeFailure) => ({
  errors: [{ message: failure.message, extensions: { code: failure.code } }],
});

/** The body of a refusal on /imports and /downloads (API.md §2). */
export const routeErrorBody = (failure: EdgeFailure) => ({ error: { code: failure.code, message: failure.message } });
