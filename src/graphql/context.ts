import DataLoader from 'dataloader';
import type { Logger } from '../shared/logger.ts';
import type { Services } from '../services.ts';
import { findUsersInOrganization, type UserRow } from '../modules/auth/auth.repository.ts';
import type { Viewer } from '../modules/auth/auth.types.ts';
import type { CrmModuleName, CrmRecord } from '../modules/crm/crm.modules.ts';

/** What every resolver receives: the authenticated viewer, the services, per-request loaders. */
export interface GraphQLContext {
  viewer: Viewer;
  services: Services;
  /** Users of the viewer's organization by id (owner, requestedBy, updatedBy): one query per request. */
  users: DataLoader<string, UserRow | null>;
  /** Records of the viewer's organization by module and id (account, contact relations). */
  records(module: CrmModuleName): DataLoader<string, CrmRecord | null>;
  requestId: string;
  log: Logger;
}

export function createContext(viewer: Viewer, services: Services, requestId: string, log: Logger): GraphQLContext {
  const users = new DataLoader<string, UserRow | null>(async (ids) => {
    const rows = await findUsersInOrganization(services.db, viewer.organizationId, ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  });
  const loaders = new Map<CrmModuleName, DataLoader<string, CrmRecord | null>>();
  const records = (module: CrmModuleName): DataLoader<string, CrmRecord | null> => {
    let loader = loaders.get(module);
    if (!loader) {
      loader = new DataLoader(async (ids) => {
        const rows = await services.crm.getMany(viewer.organizationId, module, ids);
        const byId = new Map(rows.map((r) => [r.id, r]));
        return ids.map((id) => byId.get(id) ?? null);
      });
      loaders.set(module, loader);
    }
    return loader;
  };
  return { viewer, services, users, records, requestId, log: log.child({ requestId, org: viewer.organizationId }) };
}
