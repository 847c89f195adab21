import type { AuthChecker } from 'type-graphql';
import type { GraphQLContext } from './context.ts';

/** `@Authorized()` needs a viewer; `@Authorized('ADMIN')` needs that role. Checked on the server, per field. */
export const authChecker: AuthChecker<GraphQLContext> = ({ context }, roles) => {
  if (!context.viewer) return false;
  return roles.length === 0 || roles.includes(context.viewer.role);
};
