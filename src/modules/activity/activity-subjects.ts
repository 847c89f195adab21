import type { CrmModuleName } from '../crm/crm.modules.ts';

/** `ActivityEvent.subjectType` values (API.md §6): fixed strings, so clients may filter and link on them. */
export const SUBJECT_TYPES = [
  'BACKUP',
  'BACKUP_SETTINGS',
  'RETENTION_SETTINGS',
  'RETENTION_POLICY',
  'IMPORT',
  'LEAD',
  'CONTACT',
  'ACCOUNT',
  'DEAL',
  'WEBHOOK_ENDPOINT',
] as const;

export type SubjectType = (typeof SUBJECT_TYPES)[number];

export function isSubjectType(value: string): value is SubjectType {
  return (SUBJECT_TYPES as readonly string[]).includes(value);
}

const OF_MODULE: Record<CrmModuleName, SubjectType> = { LEADS: 'LEAD', CONTACTS: 'CONTACT', ACCOUNTS: 'ACCOUNT', DEALS: 'DEAL' };

/** The subject type of one record of a CRM module (LEADS → LEAD). */
export function subjectTypeOfModule(module: CrmModuleName): SubjectType {
  return OF_MODULE[module];
}
