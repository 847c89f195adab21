// Every table of the service, re-exported from the feature that owns it (drizzle-kit reads this file).
export * from '../modules/auth/auth.table.ts';
export * from '../modules/crm/crm.table.ts';
export * from '../modules/backup/backup.table.ts';
export * from '../modules/backup/backup-download.table.ts';
export * from '../modules/activity/activity.table.ts';
export * from '../modules/notifications/notification.table.ts';
export * from '../modules/retention/retention.table.ts';
export * from '../modules/restore/import.table.ts';
export * from '../modules/webhooks/webhook.table.ts';
