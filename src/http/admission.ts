import type { Request, RequestHandler, Response } from 'express';
import type { TokenViewer } from '../modules/auth/auth.types.ts';
import type { Services } from '../services.ts';
import { AppError } from '../shared/app-error.ts';
import { authenticate, bearerToken } from './authenticate.ts';
import { clientAddressKey } from './client-address.ts';
import { AuthenticationError } from './errors.ts';
import type { RateDecision } from './rate-limiter.ts';
import { sendRefusal } from './upload-refusal.ts';

/** Over RATE_LIMIT_PER_MINUTE (API.md §6): HTTP 429 with Retry-After, or an operation error on a WebSocket. */
export class RateLimitedError extends AppError {
  constructor(
    readonly retryAfterSeconds: number,
    perMinute: number,
    subject: 'token' | 'address',
  ) {
    super('RATE_LIMITED', `Too many operations: at most ${perMinute} per minute for this ${subject}; retry in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
    });
    this.name = 'RateLimitedError';
  }
}

/**
 * Authenticates a token and counts one operation against RATE_LIMIT_PER_MINUTE, for every transport: per token
 * once the token is known live, otherwise per client address. A token this process already holds costs no
 * database work; any other token costs a lookup, so an address already over its budget (say, one trying
 * random tokens) is refused before the lookup, and each refused token is counted against its address.
 * Throws AuthenticationError, RateLimitedError, or a bare error when the lookup itself failed.
 */
export async function admit(services: Services, token: string | undefined, address: string | undefined): Promise<TokenViewer> {
  const viewer = await admitConnection(services, token, address);
  return charge(services, `token:${viewer.tokenId}`, 'token', viewer);
}

/**
 * `admit` without counting an operation, for a WebSocket's connection_init (not an operation): a live token is
 * not charged, but refused tokens still cost their address, and an address over its budget gets no lookup.
 */
export async function admitConnection(services: Services, token: string | undefined, address: string | undefined): Promise<TokenViewer> {
  const known = services.auth.cachedViewer(token);
  if (known) return known;
  const addressKey = clientAddressKey(address);
  refuseIfLimited(services, services.rateLimiter.check(addressKey), 'address');
  try {
    return await authenticate(services, token);
  } catch (error) {
    if (error instanceof AuthenticationError) services.rateLimiter.take(addressKey);
    throw error;
  }
}

/** A request with no token to speak of (a signed download link is the authority): counted per client address. */
export function admitAnonymous(services: Services, address: string | undefined): void {
  charge(services, clientAddressKey(address), 'address', undefined);
}

/** `admit` for an HTTP request; a refusal for the rate sets `Retry-After` on the response before it is thrown. */
export async function admitRequest(services: Services, req: Request, res: Response): Promise<TokenViewer> {
  return withRetryAfter(res, () => admit(services, bearerToken(req.header('authorization')), peerAddress(req)));
}

/** `admitAnonymous` for an HTTP request, with `Retry-After` on a refusal. */
export async function admitAnonymousRequest(services: Services, req: Request, res: Response): Promise<void> {
  await withRetryAfter(res, async () => admitAnonymous(services, peerAddress(req)));
}

/** What the /graphql admission left for Apollo's context: the viewer, or the authentication error to answer. */
export type GraphqlAdmission = { viewer: TokenViewer } | { error: unknown };

/**
 * Before `/graphql` reads its body: authenticates and counts the request. Over the limit it answers at once
 * (429, Retry-After, a GraphQL error body); otherwise it leaves the outcome in `res.locals.admission`, so Apollo
 * answers authentication failures in its own shape, as before, without a second lookup.
 */
export function graphqlAdmission(services: Services): RequestHandler {
  return async (req, res, next) => {
    try {
      res.locals.admission = { viewer: await admitRequest(services, req, res) } satisfies GraphqlAdmission;
    } catch (error) {
      if (error instanceof RateLimitedError) {
        const body = { errors: [{ message: error.message, extensions: { code: error.code, ...error.details } }] };
        return sendRefusal(req, res, 429, body);
      }
      res.locals.admission = { error } satisfies GraphqlAdmission;
    }
    next();
  };
}

/** The peer's address as the socket sees it (no proxy headers are trusted: they are the client's to forge). */
export const peerAddress = (req: { socket: { remoteAddress?: string } }): string | undefined => req.socket.remoteAddress;

async function withRetryAfter<T>(res: Response, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof RateLimitedError) res.setHeader('Retry-After', String(error.retryAfterSeconds));
    throw error;
  }
}

function charge<T>(services: Services, key: string, subject: 'token' | 'address', value: T): T {
  refuseIfLimited(services, services.rateLimiter.take(key), subject);
  return value;
}

function refuseIfLimited(services: Services, decision: RateDecision, subject: 'token' | 'address'): void {
  if (!decision.allowed) throw new RateLimitedError(decision.retryAfterSeconds, services.rateLimiter.perMinute, subject);
}
