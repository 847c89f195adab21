import type { AuthChecker } from 'type-graphql';
import { hasRole } from '../http/role-guard.ts';
import type { GraphQLContext } from './context.ts';

/**
 * `@Authorized()` needs a viewer; `@Authorized('ADMIN')` needs that role. type-graphql runs it per field on
 * queries and mutations, and before a subscription's `subscribe` (no stream opens for a refused role).
 */
export const authChecker: AuthChecker<GraphQLContext> = ({ context }, roles) => hasRole(context.viewer, roles);
