import { eventNotifyQuery } from '../../events/event-topics.ts';
import type { TxScope } from '../../db/transaction.ts';
import * as repo from './backup.repository.ts';
import type { BackupDeps } from './backup-deps.ts';
import type { BackupEventKindName, BackupRow } from './backup.types.ts';

type Deps = Pick<BackupDeps, 'clock' | 'activity' | 'notifications' | 'domainEvents'>;

const LABEL = { MANUAL: 'Manual', SCHEDULED: 'Scheduled' } as const;

function summaryOf(row: BackupRow, kind: BackupEventKindName): string {
  const label = LABEL[row.trigger];
  switch (kind) {
    case 'PENDING':
      return row.scheduledFor ? `${label} backup planned for ${row.scheduledFor.toISOString()}` : `${label} backup requested`;
    case 'STARTED':
      return row.attempts > 1 ? `${label} backup restarted (attempt ${row.attempts})` : `${label} backup started`;
    case 'COMPLETED':
      return `${label} backup completed: ${row.processedRecords} records, ${row.sizeBytes ?? 0} bytes`;
    case 'FAILED':
      return `${label} backup failed`;
    case 'CANCELLED':
      return `${label} backup cancelled`;
    case 'EXPIRED':
      return `Backup archive expired: only the newest archives are kept`;
    case 'PROGRESS':
      return `${label} backup in progress`;
  }
}

/** Counts and public facts of a transition (never personal data): what an auditor or a front end charts. */
function transitionData(row: BackupRow, kind: BackupEventKindName): Record<string, unknown> {
  const data: Record<string, unknown> = { trigger: row.trigger, status: row.status, attempt: row.attempts };
  if (kind === 'PENDING' && row.scheduledFor) data.scheduledFor = row.scheduledFor.toISOString();
  if (kind === 'COMPLETED') {
    data.records = row.processedRecords;
    data.sizeBytes = row.sizeBytes;
    data.modules = Object.fromEntries(row.modules.map((m) => [m.module, m.recordCount]));
  }
  if (kind === 'FAILED') data.error = row.error;
  return data;
}

/**
 * What one state change tells the world: an activity event (append-only audit) and a `backupEvent`, both in the
 * transaction of the change, so subscribers and auditors see exactly what committed. Payloads carry ids only.
 */
export async function recordTransition(
  tx: TxScope,
  deps: Deps,
  row: BackupRow,
  kind: Exclude<BackupEventKindName, 'PROGRESS'>,
  actorId: string | null = null,
): Promise<void> {
  await deps.activity.record(
    {
      organizationId: row.organizationId,
      kind: `backup.${kind.toLowerCase()}`,
      actorId,
      summary: summaryOf(row, kind),
      subjectType: 'BACKUP',
      subjectId: row.id,
      data: transitionData(row, kind),
    },
    tx.db,
  );
  const at = deps.clock.now().toISOString();
  await tx.q.query(eventNotifyQuery('backupEvent', row.organizationId, { backupId: row.id, kind, at }));
}

/** A PROGRESS event: not a state change, so outside any transaction and without an activity event. */
export async function publishProgress(deps: Pick<BackupDeps, 'clock' | 'pool'>, row: BackupRow): Promise<void> {
  const at = deps.clock.now().toISOString();
  await deps.pool.query(eventNotifyQuery('backupEvent', row.organizationId, { backupId: row.id, kind: 'PROGRESS', at }));
}

/**
 * The in-app notification of a finished backup: to the admin who asked, or to every admin for a scheduled one.
 * Stored in the transaction; pushed after it commits.
 */
export async function notifyFinished(tx: TxScope, deps: Deps, row: BackupRow): Promise<void> {
  const recipients =
    row.trigger === 'MANUAL' && row.requestedBy ? [row.requestedBy] : await repo.adminIds(tx.q, row.organizationId);
  const completed = row.status === 'COMPLETED';
  const created = await deps.notifications.create(
    recipients,
    {
      organizationId: row.organizationId,
      kind: completed ? 'backup.completed' : 'backup.failed',
      title: completed ? 'Backup completed' : 'Backup failed',
      body: completed
        ? `${row.fileName ?? 'The archive'} is ready to download (${row.processedRecords} records).`
        : `The ${row.trigger.toLowerCase()} backup failed: ${row.error ?? 'unknown error'}`,
      backupId: row.id,
    },
    tx.db,
  );
  tx.afterCommit(() => deps.notifications.publish(created));
  const type = completed ? 'backup.completed' : 'backup.failed';
  await deps.domainEvents.emit(tx.q, { type, organizationId: row.organizationId, backupId: row.id });
}
