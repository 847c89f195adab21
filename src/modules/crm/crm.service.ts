import type pg from 'pg';
import { withTransaction } from '../../db/transaction.ts';
import { badInput, forbidden, notFound } from '../../shared/app-error.ts';
import { isUuid } from '../../shared/validation.ts';
import { decodeCursor, pageSize, toConnection, type ConnectionShape } from '../../graphql/connection.ts';
import type { Viewer } from '../auth/auth.types.ts';
import { findUsersInOrganization } from '../auth/auth.repository.ts';
import type { Db } from '../../db/client.ts';
import { MODULES, type CrmModuleName, type CrmRecord, type FieldValues, type ModuleSpec } from './crm.modules.ts';
import * as repo from './crm.repository.ts';
import { validateFields } from './crm.validation.ts';

/**
 * What other features plug into record writes, inside the write's transaction: retention computes a record's
 * dates, refuses edits of masked or held records by STANDARD users, and deletes of held records by anyone.
 */
export interface RecordWriteHooks {
  beforeUpdate?(client: pg.PoolClient, viewer: Viewer, spec: ModuleSpec, record: CrmRecord): Promise<void>;
  /** After `beforeUpdate` (a delete is a change too): what may be changed but never deleted. */
  beforeDelete?(client: pg.PoolClient, viewer: Viewer, spec: ModuleSpec, record: CrmRecord): Promise<void>;
  afterWrite?(client: pg.PoolClient, spec: ModuleSpec, record: CrmRecord): Promise<CrmRecord>;
}

export interface ListArgs {
  first?: number | null;
  after?: string | null;
  retentionState?: string | null;
}

export class CrmService {
  private readonly hooks: RecordWriteHooks[] = [];

  constructor(
    private readonly pool: pg.Pool,
    private readonly db: Db,
  ) {}

  addHooks(hooks: RecordWriteHooks): void {
    this.hooks.push(hooks);
  }

  async get(viewer: Viewer, module: CrmModuleName, id: string): Promise<CrmRecord | undefined> {
    if (!isUuid(id)) return undefined;
    return repo.findRecord(this.pool, MODULES[module], viewer.organizationId, id);
  }

  async getMany(organizationId: string, module: CrmModuleName, ids: readonly string[]): Promise<CrmRecord[]> {
    return repo.findRecords(this.pool, MODULES[module], organizationId, ids);
  }

  async list(viewer: Viewer, module: CrmModuleName, args: ListArgs): Promise<ConnectionShape<CrmRecord>> {
    const spec = MODULES[module];
    const limit = pageSize(args.first);
    const cursor = decodeCursor(args.after, 2);
    const after = cursor ? { createdAt: String(cursor[0]), id: String(cursor[1]) } : undefined;
    // Exactly the instant this list encoded: a loosely parsed date ("1") would reach PostgreSQL and fail there.
    if (after && (!isUuid(after.id) || !isIsoInstant(after.createdAt))) {
      throw badInput('after', 'is not a cursor returned by this list');
    }
    const retentionState = args.retentionState ?? undefined;
    const rows = await repo.listRecords(this.pool, spec, viewer.organizationId, { limit, after, retentionState });
    return toConnection(
      rows,
      limit,
      (r) => r,
      (r) => [r.createdAt.toISOString(), r.id],
      () => repo.countRecords(this.pool, spec, viewer.organizationId, retentionState),
    );
  }

  async create(viewer: Viewer, module: CrmModuleName, input: Record<string, unknown>): Promise<CrmRecord> {
    const spec = MODULES[module];
    const values = validateFields(spec, input, 'create');
    const ownerId = await this.resolveOwner(viewer, input.ownerId, viewer.userId);
    await this.checkReferences(viewer, spec, values);
    return this.inTransaction(async (client) => {
      const record = await repo.insertRecord(client, spec, viewer.organizationId, ownerId ?? null, values);
      return this.runAfterWrite(client, spec, record);
    }, spec);
  }

  async update(viewer: Viewer, module: CrmModuleName, id: string, input: Record<string, unknown>): Promise<CrmRecord> {
    const spec = MODULES[module];
    if (!isUuid(id)) throw notFound(spec.noun);
    const values = validateFields(spec, input, 'update');
    const ownerId = await this.resolveOwner(viewer, input.ownerId, undefined);
    await this.checkReferences(viewer, spec, values);
    return this.inTransaction(async (client) => {
      const current = await lockRecord(client, spec, viewer.organizationId, id);
      for (const hook of this.hooks) await hook.beforeUpdate?.(client, viewer, spec, current);
      checkOwnerChange(viewer, spec, current, ownerId);
      const record = await repo.updateRecord(client, spec, viewer.organizationId, id, values, ownerId);
      if (!record) throw notFound(spec.noun);
      return this.runAfterWrite(client, spec, record);
    }, spec);
  }

  async delete(viewer: Viewer, module: CrmModuleName, id: string): Promise<boolean> {
    const spec = MODULES[module];
    if (!isUuid(id)) throw notFound(spec.noun);
    return this.inTransaction(async (client) => {
      const current = await lockRecord(client, spec, viewer.organizationId, id);
      for (const hook of this.hooks) await hook.beforeUpdate?.(client, viewer, spec, current);
      for (const hook of this.hooks) await hook.beforeDelete?.(client, viewer, spec, current);
      return repo.deleteRecord(client, spec, viewer.organizationId, id);
    });
  }

  /** `ownerId` in an input must name a user of the viewer's organization. */
  private async resolveOwner(viewer: Viewer, raw: unknown, fallback: string | undefined): Promise<string | null | undefined> {
    if (raw === undefined) return fallback;
    if (raw === null) return null;
    if (typeof raw !== 'string' || !isUuid(raw)) throw badInput('ownerId', 'must be the id of a user of your organization');
    const [user] = await findUsersInOrganization(this.db, viewer.organizationId, [raw]);
    if (!user) throw badInput('ownerId', 'must be the id of a user of your organization');
    return user.id;
  }

  private async checkReferences(viewer: Viewer, spec: ModuleSpec, values: FieldValues): Promise<void> {
    for (const [field, rule] of Object.entries(spec.fields)) {
      const id = values[field];
      if (rule.kind !== 'ref' || typeof id !== 'string') continue;
      if (!(await repo.allExist(this.pool, MODULES[rule.ref!], viewer.organizationId, [id]))) {
        throw badInput(field, `must be the id of a ${MODULES[rule.ref!].noun} of your organization`);
      }
    }
  }

  private async runAfterWrite(client: pg.PoolClient, spec: ModuleSpec, record: CrmRecord): Promise<CrmRecord> {
    let current = record;
    for (const hook of this.hooks) if (hook.afterWrite) current = await hook.afterWrite(client, spec, current);
    return current;
  }

  private async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>, spec?: ModuleSpec): Promise<T> {
    try {
      return await withTransaction(this.pool, (tx) => work(tx.q));
    } catch (error) {
      throw spec ? referenceRaceAsBadInput(spec, error) : error;
    }
  }


}

function isIsoInstant(value: string): boolean {
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.toISOString() === value;
}

/**
 * Ownership (API.md §6 "Rules"): a STANDARD user may give away a record they own, never take (or reassign) one
 * owned by someone else. Naming the current owner again is no change, so a form sent back whole still saves.
 */
function checkOwnerChange(viewer: Viewer, spec: ModuleSpec, current: CrmRecord, ownerId: string | null | undefined): void {
  if (ownerId === undefined || ownerId === current.ownerId || viewer.role === 'ADMIN') return;
  if (current.ownerId !== viewer.userId) {
    throw forbidden(`Only the ${spec.noun}'s owner or an admin may change its owner`);
  }
}

async function lockRecord(client: pg.PoolClient, spec: ModuleSpec, organizationId: string, id: string): Promise<CrmRecord> {
  const record = await repo.findRecord(client, spec, organizationId, id, true);
  if (!record) throw notFound(spec.noun);
  return record;
}

/**
 * References are checked before the write, so a referenced record deleted in between makes the foreign key
 * fail at insert/update: the same mistake as naming a missing record, so the same answer (not a 500).
 */
export function referenceRaceAsBadInput(spec: ModuleSpec, error: unknown): unknown {
  const pgError = error as { code?: string; constraint?: string };
  if (pgError.code !== '23503' || !pgError.constraint) return error;
  for (const [field, rule] of Object.entries(spec.fields)) {
    if (rule.kind === 'ref' && pgError.constraint.includes(rule.column)) {
      return badInput(field, `must be the id of a ${MODULES[rule.ref!].noun} of your organization`);
    }
  }
  if (pgError.constraint.includes('owner_id')) return badInput('ownerId', 'must be the id of a user of your organization');
  return error;
}
