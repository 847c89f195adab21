import type { TokenViewer } from '../modules/auth/auth.types.ts';
import { parseBearer } from '../modules/auth/token.ts';
import type { Services } from '../services.ts';
import { errorForLog } from '../graphql/errors.ts';
import { AuthenticationError } from './errors.ts';

/** The token of an `Authorization` value (HTTP header or graphql-ws connectionParams): `Bearer <token>` only. */
export function bearerToken(value: unknown): string | undefined {
  return parseBearer(typeof value === 'string' ? value : undefined);
}

/**
 * The one way a request becomes a viewer, for every transport: AuthenticationError for a missing or refused
 * token. A failure of the lookup itself (the database is down) is logged here and surfaces as a bare error:
 * drizzle's message would carry the SQL and the token hash to the client (graphql-ws puts it in the close
 * reason outside production), and neither Apollo (context errors) nor graphql-ws (onConnect errors) logs it.
 */
export async function authenticate(services: Services, token: string | undefined): Promise<TokenViewer> {
  if (!token) throw new AuthenticationError(false);
  let viewer: TokenViewer | undefined;
  try {
    viewer = await services.auth.authenticate(token);
  } catch (error) {
    services.log.error(errorForLog(error), 'authentication failed unexpectedly');
    throw new Error('Internal server error');
  }
  if (!viewer) throw new AuthenticationError(true);
  return viewer;
}
