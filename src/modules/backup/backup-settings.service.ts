import { findOrganization } from '../auth/auth.repository.ts';
import type { Viewer } from '../auth/auth.types.ts';
import { badInput, notFound } from '../../shared/app-error.ts';
import * as repo from './backup.repository.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { Queryable } from './backup.repository.ts';
import * as settingsRepo from './backup-settings.repository.ts';
import { parseSchedule, type BackupScheduleInput } from './backup-schedule.ts';
import type { BackupDeps } from './backup-deps.ts';
import type { BackupStateMachine } from './backup-state-machine.ts';
import type { BackupSettingsView } from './backup.types.ts';

/** Auto-backup settings: the schedule, and the one PENDING scheduled backup that it keeps planned. */
export class BackupSettingsService {
  constructor(
    private readonly deps: BackupDeps,
    private readonly machine: BackupStateMachine,
  ) {}

  async get(organizationId: string): Promise<BackupSettingsView> {
    return this.view(this.deps.pool, organizationId, await this.organizationTimezone(organizationId));
  }

  /**
   * Validates everything before touching anything, then (one transaction) saves the schedule, cancels the
   * occurrence planned by the previous one and plans the next.
   */
  async enable(viewer: Viewer, input: BackupScheduleInput): Promise<BackupSettingsView> {
    const { deps } = this;
    const orgTimezone = await this.organizationTimezone(viewer.organizationId);
    const parsed = parseSchedule(input, { defaultTimezone: orgTimezone });
    if (!parsed.ok) throw badInput(parsed.field, parsed.rule);
    const schedule = parsed.schedule;
    return withTransaction(deps.pool, async (tx) => {
      await repo.lockOrganizationBackups(tx.q, viewer.organizationId);
      const at = deps.clock.now();
      await settingsRepo.saveSchedule(tx.q, viewer.organizationId, schedule, { userId: viewer.userId, at });
      const day = schedule.frequency === 'WEEKLY' ? schedule.dayOfWeek : `day ${schedule.dayOfMonth}`;
      await deps.activity.record(
        {
          organizationId: viewer.organizationId,
          kind: 'backup.settings_changed',
          actorId: viewer.userId,
          summary: `Auto backup enabled: ${schedule.frequency} on ${day} at ${schedule.timeOfDay} (${schedule.timezone})`,
          subjectType: 'BACKUP_SETTINGS',
          subjectId: viewer.organizationId,
          data: { autoBackupEnabled: true, ...schedule },
        },
        tx.db,
      );
      await this.machine.cancelPlanned(tx, viewer, at);
      await this.machine.planNextScheduled(tx, viewer.organizationId, null, viewer.userId);
      return this.view(tx.q, viewer.organizationId, orgTimezone);
    });
  }

  async disable(viewer: Viewer): Promise<BackupSettingsView> {
    const { deps } = this;
    const orgTimezone = await this.organizationTimezone(viewer.organizationId);
    return withTransaction(deps.pool, async (tx) => {
      await repo.lockOrganizationBackups(tx.q, viewer.organizationId);
      const at = deps.clock.now();
      await settingsRepo.disableSchedule(tx.q, viewer.organizationId, { userId: viewer.userId, at });
      await deps.activity.record(
        {
          organizationId: viewer.organizationId,
          kind: 'backup.settings_changed',
          actorId: viewer.userId,
          summary: 'Auto backup disabled',
          subjectType: 'BACKUP_SETTINGS',
          subjectId: viewer.organizationId,
          data: { autoBackupEnabled: false },
        },
        tx.db,
      );
      await this.machine.cancelPlanned(tx, viewer, at);
      return this.view(tx.q, viewer.organizationId, orgTimezone);
    });
  }

  private async view(q: Queryable, organizationId: string, orgTimezone: string): Promise<BackupSettingsView> {
    const settings = await settingsRepo.findSettings(q, organizationId);
    const enabled = settings?.autoBackupEnabled ?? false;
    const planned = enabled ? await repo.findPendingScheduled(q, organizationId) : undefined;
    const active = await repo.findActive(q, organizationId);
    return {
      activeBackup: active ?? null,
      nextBackup: planned ?? null,
      // The same rule as startManualBackup's BACKUP_IN_PROGRESS: nothing running, no manual one waiting.
      canStartManualBackup: active === undefined,
      autoBackupEnabled: enabled,
      frequency: settings?.frequency ?? null,
      dayOfWeek: settings?.dayOfWeek ?? null,
      dayOfMonth: settings?.dayOfMonth ?? null,
      timeOfDay: settings?.timeOfDay ?? null,
      timezone: settings?.timezone ?? orgTimezone,
      nextRunAt: planned?.scheduledFor ?? null,
      updatedAt: settings?.updatedAt ?? null,
      updatedById: settings?.updatedBy ?? null,
    };
  }

  private async organizationTimezone(organizationId: string): Promise<string> {
    const organization = await findOrganization(this.deps.db, organizationId);
    if (!organization) throw notFound('organization');
    return organization.timezone;
  }
}
