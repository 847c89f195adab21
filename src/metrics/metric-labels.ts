/**
 * Label values the service chooses. A method, a path or an operation name comes from the client: used as a
 * label as-is, each new value would be a new time series, and a client could grow the scrape without bound.
 */

export type OperationType = 'query' | 'mutation' | 'subscription' | 'unknown';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The service's endpoints, by path prefix; ids and query strings after them are dropped. */
const ROUTES = ['/graphql', '/imports', '/downloads', '/healthz', '/readyz', '/metrics'];

export function httpMethodLabel(method: string): string {
  return METHODS.has(method) ? method : 'other';
}

export function httpRouteLabel(path: string): string {
  const route = ROUTES.find((r) => path === r || path.startsWith(`${r}/`) || path.startsWith(`${r}?`));
  return route ?? 'other';
}
