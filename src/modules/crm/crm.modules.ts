/**
 * The registry of the four CRM modules: each is described once, in `records/<module>.record.ts` (fields, columns,
 * rules, personal data, relations, retention). The repository, validation, GraphQL types, archive columns, restore,
 * masking and retention all derive from these definitions instead of repeating field lists; only the drizzle
 * table (crm.table.ts) is written by hand, and a test checks that it agrees.
 */
import { ACCOUNT_RECORD } from './records/account.record.ts';
import { CONTACT_RECORD } from './records/contact.record.ts';
import { DEAL_RECORD } from './records/deal.record.ts';
import { LEAD_RECORD } from './records/lead.record.ts';
import type { CrmModuleName, RecordDefinition } from './records/record-field.ts';

export type { CrmModuleName, FieldKind, FieldSpec, MaskKind } from './records/record-field.ts';
export type ModuleSpec = RecordDefinition;

/** In archive and schema order. */
export const MODULES = {
  LEADS: LEAD_RECORD,
  CONTACTS: CONTACT_RECORD,
  ACCOUNTS: ACCOUNT_RECORD,
  DEALS: DEAL_RECORD,
} as const satisfies Record<CrmModuleName, ModuleSpec>;

export const CRM_MODULE_NAMES = Object.keys(MODULES) as readonly CrmModuleName[];

/** Modules whose records hold personal data and carry retention dates (`retention: true` in their definition). */
export type RetentionModule = { [M in CrmModuleName]: (typeof MODULES)[M]['retention'] extends true ? M : never }[CrmModuleName];
export const RETENTION_MODULES = CRM_MODULE_NAMES.filter((m): m is RetentionModule => MODULES[m].retention);

/** A value per module, computed from the registry (a map from module name to what derives from its definition). */
export function perModule<M extends CrmModuleName, V>(modules: readonly M[], derive: (module: M) => V): Readonly<Record<M, V>> {
  return Object.fromEntries(modules.map((module) => [module, derive(module)])) as Record<M, V>;
}

export function isRetentionModule(module: string): module is RetentionModule {
  return (RETENTION_MODULES as readonly string[]).includes(module);
}

/** The fields retention masks (and the vault keeps) in a module, in field order. */
export function personalFields(module: CrmModuleName): string[] {
  return Object.entries(MODULES[module].fields as ModuleSpec['fields'])
    .filter(([, spec]) => spec.personal !== undefined)
    .map(([name]) => name);
}

/** Every record, whatever its module, as the repository returns it. */
export interface CrmRecord {
  id: string;
  organizationId: string;
  ownerId: string | null;
  createdAt: Date;
  updatedAt: Date;
  retentionState?: 'ACTIVE' | 'EXPIRED' | 'MASKED';
  retentionEndsAt?: Date | null;
  deletesAt?: Date | null;
  maskedAt?: Date | null;
  legalHold?: boolean;
  retentionSource?: 'NONE' | 'POLICY' | 'CUSTOM';
  [field: string]: unknown;
}

export type FieldValues = Record<string, string | number | null>;
