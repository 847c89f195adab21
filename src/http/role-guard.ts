import type { RoleName, Viewer } from '../modules/auth/auth.types.ts';
import { forbidden } from '../shared/app-error.ts';

/**
 * The one role rule, for queries, mutations and subscriptions (through `@Authorized`, whose check type-graphql
 * also runs before a subscription's `subscribe`) and for HTTP routes: no roles named means any viewer.
 */
export function hasRole(viewer: Viewer | undefined, roles: readonly string[]): viewer is Viewer {
  return viewer !== undefined && (roles.length === 0 || roles.includes(viewer.role));
}

/** For HTTP routes: FORBIDDEN (403) with a message that says what the route needs. */
export function requireRole(viewer: Viewer, role: RoleName, message: string): Viewer {
  if (!hasRole(viewer, [role])) throw forbidden(message);
  return viewer;
}
