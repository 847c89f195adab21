import type { backupSettings } from './backup.table.ts';
import type { Queryable } from './backup.repository.ts';
import type { BackupSchedule } from './backup-schedule.ts';

export type BackupSettingsRow = typeof backupSettings.$inferSelect;

const COLUMNS = `organization_id AS "organizationId", auto_backup_enabled AS "autoBackupEnabled", frequency,
  day_of_week AS "dayOfWeek", day_of_month AS "dayOfMonth", time_of_day AS "timeOfDay", timezone,
  updated_at AS "updatedAt", updated_by AS "updatedBy"`;

export async function findSettings(q: Queryable, organizationId: string): Promise<BackupSettingsRow | undefined> {
  const { rows } = await q.query<BackupSettingsRow>(
    `SELECT ${COLUMNS} FROM backup_settings WHERE organization_id = $1`,
    [organizationId],
  );
  return rows[0];
}

/** Enables auto backup with `schedule`, replacing any previous one. */
export async function saveSchedule(
  q: Queryable,
  organizationId: string,
  schedule: BackupSchedule,
  by: { userId: string; at: Date },
): Promise<BackupSettingsRow> {
  const { rows } = await q.query<BackupSettingsRow>(
    `INSERT INTO backup_settings AS s (organization_id, auto_backup_enabled, frequency, day_of_week, day_of_month,
       time_of_day, timezone, updated_at, updated_by)
     VALUES ($1, true, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (organization_id) DO UPDATE SET auto_backup_enabled = true, frequency = EXCLUDED.frequency,
       day_of_week = EXCLUDED.day_of_week, day_of_month = EXCLUDED.day_of_month, time_of_day = EXCLUDED.time_of_day,
       timezone = EXCLUDED.timezone, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
     RETURNING ${COLUMNS}`,
    [
      organizationId,
      schedule.frequency,
      schedule.dayOfWeek ?? null,
      schedule.dayOfMonth ?? null,
      schedule.timeOfDay,
      schedule.timezone,
      by.at,
      by.userId,
    ],
  );
  return rows[0]!;
}

/** Turns auto backup off; the last schedule stays on the row so a client can offer it again. */
export async function disableSchedule(
  q: Queryable,
  organizationId: string,
  by: { userId: string; at: Date },
): Promise<BackupSettingsRow> {
  const { rows } = await q.query<BackupSettingsRow>(
    `INSERT INTO backup_settings AS s (organization_id, auto_backup_enabled, updated_at, updated_by)
     VALUES ($1, false, $2, $3)
     ON CONFLICT (organization_id) DO UPDATE SET auto_backup_enabled = false, updated_at = EXCLUDED.updated_at,
       updated_by = EXCLUDED.updated_by
     RETURNING ${COLUMNS}`,
    [organizationId, by.at, by.userId],
  );
  return rows[0]!;
}
