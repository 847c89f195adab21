import type { NonEmptyArray } from 'type-graphql';
import { ActivityResolver } from '../modules/activity/activity.resolver.ts';
import { AuthResolver } from '../modules/auth/auth.resolver.ts';
import { BackupResolver, BackupSettingsResolver } from '../modules/backup/backup.resolver.ts';
import { CRM_RESOLVERS } from '../modules/crm/crm.resolver.ts';
import { NotificationResolver } from '../modules/notifications/notification.resolver.ts';
import { NotificationPreferencesResolver } from '../modules/notifications/notification-preferences.resolver.ts';
import { WebhookResolver } from '../modules/webhooks/webhook.resolver.ts';
import { RestoreResolver } from '../modules/restore/restore.resolver.ts';
import { RetentionPolicyFieldsResolver, RetentionResolver } from '../modules/retention/retention.resolver.ts';

/** Every resolver of the API, in one list. */
export const resolvers: NonEmptyArray<Function> = [
  AuthResolver,
  ...CRM_RESOLVERS,
  ActivityResolver,
  NotificationResolver,
  NotificationPreferencesResolver,
  BackupResolver,
  BackupSettingsResolver,
  RetentionResolver,
  RetentionPolicyFieldsResolver,
  RestoreResolver,
  WebhookResolver,
];
