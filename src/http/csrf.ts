import type { Request } from 'express';

/** Headers a browser cannot add to a cross-site request without a CORS preflight. */
export const PREFLIGHT_HEADERS = ['apollo-require-preflight', 'x-apollo-operation-name', 'x-requested-with'];
/** The content types a cross-site form or `fetch` may send without a preflight. */
const SIMPLE_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * Apollo's CSRF rule, the one check of /graphql and /imports: a request a browser would only send after a CORS
 * preflight (a non-simple content type, or a non-empty preflight header) cannot be a cross-site forgery.
 */
export function forcesPreflight(req: Request): boolean {
  const contentType = req.header('content-type');
  if (contentType !== undefined) {
    const essence = contentType.split(';')[0]!.trim().toLowerCase();
    if (!SIMPLE_CONTENT_TYPES.includes(essence)) return true;
  }
  return PREFLIGHT_HEADERS.some((h) => (req.header(h) ?? '') !== '');
}
