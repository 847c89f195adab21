import type { Db, DbOrTx } from '../../db/client.ts';
import { decodeCursor, pageSize, toConnection, type ConnectionShape } from '../../graphql/connection.ts';
import { badInput } from '../../shared/app-error.ts';
import * as repo from './activity.repository.ts';
import { isSubjectType, SUBJECT_TYPES, type SubjectType } from './activity-subjects.ts';

export interface ActivityInput {
  organizationId: string;
  kind: string;
  actorId?: string | null;
  /** Human-readable; never personal data (names, emails…): ids and counts only. */
  summary: string;
  subjectType?: SubjectType | null;
  subjectId?: string | null;
  /** Before/after values, counts, ids: never personal data. */
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
    args: ActivityListArgs,
  ): Promise<ConnectionShape<repo.ActivityRow>> {
    const limit = pageSize(args.first);
    const cursor = decodeCursor(args.after, 1);
    const beforeId = cursor ? Number(cursor[0]) : undefined;
    if (beforeId !== undefined && !Number.isSafeInteger(beforeId)) throw badInput('after', 'is not a cursor returned by this list');
    const filter = checkFilter(args);
    const rows = await repo.listActivity(this.db, organizationId, { limit, beforeId, ...filter });
    return toConnection(rows, limit, (r) => r, (r) => [r.id], () => repo.countActivity(this.db, organizationId, filter));
  }
}

export interface ActivityListArgs {
  first?: number | null;
  after?: string | null;
  kinds?: string[] | null;
  subjectType?: string | null;
  subjectId?: string | null;
}

const MAX_KINDS = 50;
const MAX_TEXT = 200;

/** Client-supplied filters, bounded and checked before any SQL. */
function checkFilter(args: ActivityListArgs): repo.ActivityFilter {
  const kinds = args.kinds ?? undefined;
  if (kinds && (kinds.length > MAX_KINDS || kinds.some((k) => k.length > MAX_TEXT))) {
    throw badInput('kinds', `must be at most ${MAX_KINDS} kinds of at most ${MAX_TEXT} characters`);
  }
  const subjectType = args.subjectType ?? undefined;
  if (subjectType !== undefined && !isSubjectType(subjectType)) throw badInput('subjectType', `must be one of ${SUBJECT_TYPES.join(', ')}`);
  const subjectId = args.subjectId ?? undefined;
  if (subjectId !== undefined && (subjectId.length === 0 || subjectId.length > MAX_TEXT)) {
    throw badInput('subjectId', `must be 1 to ${MAX_TEXT} characters`);
  }
  return { kinds, subjectType, subjectId };
}
