import type { TestOrg } from './factories.ts';
import type { TestApp } from './test-app.ts';

/**
 * The small tables the schema-driven tests (isolation matrix, mutation fuzz) build arguments from. A new
 * operation with a required input type or scalar missing here fails those tests until a row is added.
 */

/** A minimal valid value of each input type (ID fields are filled in by the tests). */
export const MINIMAL_INPUTS: Record<string, Record<string, unknown>> = {
  AccountInput: { name: 'Matrix account' },
  ContactInput: { firstName: 'Matrix' },
  DealInput: { name: 'Matrix deal' },
  LeadInput: { firstName: 'Matrix' },
  AutoBackupInput: { frequency: 'WEEKLY', dayOfWeek: 'MONDAY', timeOfDay: '03:00' },
  PeriodInput: { value: 1, unit: 'DAYS' },
  RetentionPolicyInput: {
    module: 'LEADS', enabled: true, action: 'DELETE', retentionPeriod: { value: 1, unit: 'YEARS' }, actionPeriod: { value: 0, unit: 'DAYS' },
  },
  RetentionSettingsInput: {
    enabled: true,
    policies: [{ module: 'LEADS', enabled: true, action: 'DELETE', retentionPeriod: { value: 1, unit: 'YEARS' }, actionPeriod: { value: 0, unit: 'DAYS' } }],
  },
  WebhookEndpointInput: { url: 'https://hooks.example/matrix', events: ['BACKUP_COMPLETED'] },
};

/** A plausible value of each required scalar. */
export const SCALAR_VALUES: Record<string, unknown> = {
  Boolean: true,
  Int: 1,
  Float: 1,
  String: 'x',
  DateTimeISO: new Date(Date.now() + 365 * 86_400_000).toISOString(),
  JSONObject: {},
};

/** What another organization's id may be answered with. */
export const REFUSALS = ['NOT_FOUND', 'FORBIDDEN', 'BAD_USER_INPUT'];

/** Mutations that may succeed with another organization's ids, and what they must answer then. */
export const SUCCESS_ALLOWED: Record<string, (value: unknown) => boolean> = {
  // Marks the viewer's own notifications among the ids: none of A's.
  markNotificationsRead: (value) => value === 0,
};

interface MarkerContext {
  t: TestApp;
}

/** How to make each subscription fire for an organization (the isolation matrix's subscription part). */
export const SUBSCRIPTION_MARKERS: Record<string, { trigger: (ctx: MarkerContext, org: TestOrg) => Promise<unknown> }> = {
  // A refusal (a backup already running) is fine: one is running, and its events flow.
  backupEvents: { trigger: ({ t }, org) => t.gql(org.admin.token, 'mutation { startManualBackup { id } }') },
  notificationAdded: {
    trigger: ({ t }, org) =>
      t.app.services.notifications.notify([org.admin.userId, org.standard.userId], { organizationId: org.organizationId, kind: 'matrix.test', title: `For ${org.name}` }),
  },
  retentionSettingsChanged: {
    trigger: ({ t }, org) => t.gql(org.admin.token, 'mutation($d: Int!) { setRetentionNoticeDays(days: $d) { noticeDays } }', { d: 1 + Math.floor(Math.random() * 89) }),
  },
  // Needs a job id: B can only name A's, which must be refused at once; A's job has finished (nothing to trigger).
  importJobUpdated: { trigger: async () => undefined },
};
