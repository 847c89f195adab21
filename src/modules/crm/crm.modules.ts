/**
 * The four CRM modules described once: table, writable fields and their rules. The repository, validation,
 * the archive columns and restore all read these descriptors instead of repeating field lists.
 */
export type CrmModuleName = 'LEADS' | 'CONTACTS' | 'ACCOUNTS' | 'DEALS';
export const CRM_MODULE_NAMES: readonly CrmModuleName[] = ['LEADS', 'CONTACTS', 'ACCOUNTS', 'DEALS'];
/** Modules whose records hold personal data and carry retention dates. */
export const RETENTION_MODULES: readonly CrmModuleName[] = ['LEADS', 'CONTACTS'];

export type FieldKind = 'text' | 'email' | 'amount' | 'date' | 'currency' | 'ref';

export interface FieldSpec {
  column: string;
  kind: FieldKind;
  /** Longest accepted text. */
  max?: number;
  /** NOT NULL in the table; required on create, may not be cleared on update. */
  required?: boolean;
  /** For `ref`: the module the id must name (in the same organization). */
  ref?: CrmModuleName;
}

export interface ModuleSpec {
  module: CrmModuleName;
  table: string;
  /** Singular, for messages ("contact not found"). */
  noun: string;
  fields: Record<string, FieldSpec>;
  retention: boolean;
}

const text = (column: string, max: number, required = false): FieldSpec => ({ column, kind: 'text', max, required });
const NAME = 200;
const NOTES = 10_000;

export const MODULES: Record<CrmModuleName, ModuleSpec> = {
  LEADS: {
    module: 'LEADS',
    table: 'leads',
    noun: 'lead',
    retention: true,
    fields: {
      firstName: text('first_name', NAME),
      lastName: text('last_name', NAME),
      email: { column: 'email', kind: 'email' },
      phone: text('phone', 50),
      company: text('company', NAME),
      title: text('title', NAME),
      status: text('status', 50),
      source: text('source', 100),
      notes: text('notes', NOTES),
    },
  },
  CONTACTS: {
    module: 'CONTACTS',
    table: 'contacts',
    noun: 'contact',
    retention: true,
    fields: {
      firstName: text('first_name', NAME),
      lastName: text('last_name', NAME),
      email: { column: 'email', kind: 'email' },
      phone: text('phone', 50),
      jobTitle: text('job_title', NAME),
      address: text('address', 1000),
      notes: text('notes', NOTES),
      accountId: { column: 'account_id', kind: 'ref', ref: 'ACCOUNTS' },
    },
  },
  ACCOUNTS: {
    module: 'ACCOUNTS',
    table: 'accounts',
    noun: 'account',
    retention: false,
    fields: {
      name: text('name', NAME, true),
      domain: text('domain', 253),
      industry: text('industry', 100),
      phone: text('phone', 50),
      address: text('address', 1000),
    },
  },
  DEALS: {
    module: 'DEALS',
    table: 'deals',
    noun: 'deal',
    retention: false,
    fields: {
      name: text('name', NAME, true),
      amount: { column: 'amount', kind: 'amount' },
      currency: { column: 'currency', kind: 'currency' },
      stage: text('stage', 50),
      closeDate: { column: 'close_date', kind: 'date' },
      accountId: { column: 'account_id', kind: 'ref', ref: 'ACCOUNTS' },
      contactId: { column: 'contact_id', kind: 'ref', ref: 'CONTACTS' },
    },
  },
};

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
  [field: string]: unknown;
}

export type FieldValues = Record<string, string | number | null>;
