import type { Db, DbOrTx } from '../../db/client.ts';
import { decodeCursor, pageSize, toConnection, type ConnectionShape } from '../../graphql/connection.ts';
import { badInput } from '../../shared/app-error.ts';
import * as repo from './activity.repository.ts';

export interface ActivityInput {
  organizationId: string;
  kind: string;
  actorId?: string | null;
  /** Human-readable; never personal data (names, emails…): ids and counts only. */
  summary: string;
  subjectType?: string | null;
  subjectId?: string | null;
  data?: Record<string, unknown> | null;
}

/** The append-only audit trail: every backup transition, settings change, download, retention batch. */
export class ActivityService {
  constructor(private readonly db: Db) {}

  /** Pass the transaction of the change it records, so the two commit (or not) together. */
  async record(event: ActivityInput, db: DbOrTx = this.db): Promise<repo.ActivityRow> {
    return repo.insertActivity(db, event);
  }

  async list(
    organizationId: string,
    args: { first?: number | null; after?: string | null; kinds?: string[] | null },
  ): Promise<ConnectionShape<repo.ActivityRow>> {
    const limit = pageSize(args.first);
    const cursor = decodeCursor(args.after, 1);
    const beforeId = cursor ? Number(cursor[0]) : undefined;
    if (beforeId !== undefined && !Number.isSafeInteger(beforeId)) throw badInput('after', 'is not a cursor returned by this list');
    const kinds = args.kinds ?? undefined;
    const rows = await repo.listActivity(this.db, organizationId, { limit, beforeId, kinds });
    return toConnection(rows, limit, (r) => r, (r) => [r.id], () => repo.countActivity(this.db, organizationId, kinds));
  }
}
