import { inTransaction as bossDb } from '../../jobs/boss.ts';
import { eventNotifyQuery } from '../../events/event-topics.ts';
import * as repo from './backup.repository.ts';
import type { TxScope } from '../../db/transaction.ts';
import { findSettings } from './backup-settings.repository.ts';
import { nextOccurrence, parseSchedule } from './backup-schedule.ts';
import type { BackupDeps } from './backup-deps.ts';
import type { BackupEventKindName, BackupRow } from './backup.types.ts';

export const BACKUP_QUEUE = 'backup';
export interface BackupJobData {
  backupId: string;
  organizationId: string;
}

type Deps = Pick<BackupDeps, 'boss' | 'clock' | 'activity' | 'notifications' | 'log'>;

/** Sends the job that runs `row`, in the transaction that wrote the row: neither exists without the other. */
export async function enqueueRun(tx: TxScope, deps: Deps, row: BackupRow, startAfterSeconds: number): Promise<string> {
  const data: BackupJobData = { backupId: row.id, organizationId: row.organizationId };
  const jobId = await deps.boss.send(BACKUP_QUEUE, data, {
    db: bossDb(tx.q),
    startAfter: Math.max(0, Math.ceil(startAfterSeconds)),
  });
  if (!jobId) throw new Error(`pg-boss created no job for backup ${row.id}`);
  await repo.setJobId(tx.q, row.id, jobId);
  return jobId;
}

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

/**
 * One state change: an activity event (append-only audit) and a `backupEvent` NOTIFY, both in the transaction of
 * the change, so subscribers and auditors see exactly what committed. Payloads carry ids only.
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
      subjectType: 'backup',
      subjectId: row.id,
      data: { trigger: row.trigger, status: row.status, attempt: row.attempts },
    },
    tx.db,
  );
  const at = deps.clock.now().toISOString();
  await tx.q.query(eventNotifyQuery('backupEvent', row.organizationId, { backupId: row.id, kind, at }));
}

/**
 * Plans the scheduled occurrence after `after` (or after now, when `after` has passed: missed occurrences run
 * once, not once per miss) when auto backup is on. Returns the PENDING row, or undefined when auto backup is off.
 */
export async function planNextScheduled(
  tx: TxScope,
  deps: Deps,
  organizationId: string,
  after: Date | null,
  actorId: string | null,
): Promise<BackupRow | undefined> {
  const settings = await findSettings(tx.q, organizationId);
  if (!settings?.autoBackupEnabled) return undefined;
  const parsed = parseSchedule({ ...settings, frequency: settings.frequency ?? '', timeOfDay: settings.timeOfDay ?? '' });
  if (!parsed.ok) {
    // Stored settings were validated when saved; reaching this is a bug worth a loud log, not a failed backup.
    deps.log.error({ org: organizationId, field: parsed.field }, 'stored backup schedule is invalid; nothing planned');
    return undefined;
  }
  const now = deps.clock.now();
  const from = after && after > now ? after : now;
  const scheduledFor = nextOccurrence(parsed.schedule, from);
  const row = await repo.insertPending(tx.q, { organizationId, trigger: 'SCHEDULED', requestedBy: null, createdAt: now, scheduledFor });
  if (!row) return repo.findPendingScheduled(tx.q, organizationId);
  await enqueueRun(tx, deps, row, (scheduledFor.getTime() - now.getTime()) / 1000);
  await recordTransition(tx, deps, row, 'PENDING', actorId);
  return row;
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
}
