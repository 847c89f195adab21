import {
  sql,
  bigint,
  boolean,
  check,
  date,
  doublePrecision,
  foreignKey,
  index,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from '../../db/drizzle-orm.ts';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { organizations, users } from '../auth/auth.table.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

/**
 * Columns every CRM record has: tenancy, owner, audit dates. Ids are unique per organization (API.md §6): the
 * primary key is (organization_id, id), so two organizations may hold the same id (a backup restored into a
 * sandbox organization) and no id of one organization can collide with, or reveal, a record of another.
 */
const recordBase = () => ({
  id: uuid('id').notNull().defaultRandom(),
  organizationId: uuid('organization_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  ownerId: uuid('owner_id'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

type KeyColumns = { organizationId: AnyPgColumn; id: AnyPgColumn; ownerId: AnyPgColumn };

/**
 * The primary key (organization_id, id), and the owner as a user of the record's own organization. Every foreign
 * key between records is composite too, so the database itself refuses a reference across organizations.
 * ON DELETE SET NULL of a composite key must clear only the id column (PostgreSQL 15: `SET NULL (owner_id)`),
 * which drizzle cannot say: the migration writes these keys by hand (migrations/*_org-scoped-ids.sql).
 */
const recordKeys = (table: string, t: KeyColumns) => [
  primaryKey({ name: `${table}_pkey`, columns: [t.organizationId, t.id] }),
  foreignKey({
    name: `${table}_owner_id_fk`,
    columns: [t.organizationId, t.ownerId],
    foreignColumns: [users.organizationId, users.id],
  }).onDelete('set null'),
];

/** A reference to another record of the same organization (`column` is cleared when that record is deleted). */
const recordRef = (name: string, organizationId: AnyPgColumn, column: AnyPgColumn, target: { organizationId: AnyPgColumn; id: AnyPgColumn }) =>
  foreignKey({ name, columns: [organizationId, column], foreignColumns: [target.organizationId, target.id] }).onDelete('set null');

/** Retention columns of the modules that hold personal data (leads, contacts). */
const retentionColumns = () => ({
  retentionState: text('retention_state', { enum: ['ACTIVE', 'EXPIRED', 'MASKED'] })
    .notNull()
    .default('ACTIVE'),
  retentionEndsAt: ts('retention_ends_at'),
  deletesAt: ts('deletes_at'),
  maskedAt: ts('masked_at'),
  legalHold: boolean('legal_hold').notNull().default(false),
  /** Where the retention date comes from: none, the module's policy, or set by hand (kept by recomputes). */
  retentionSource: text('retention_source', { enum: ['NONE', 'POLICY', 'CUSTOM'] })
    .notNull()
    .default('NONE'),
  /**
   * Bumped (from `retention_version_seq`) by every hand change of the record's retention: a recompute enqueued
   * before the change carries a lower number and leaves the record alone (compared in its UPDATE).
   */
  retentionVersion: bigint('retention_version', { mode: 'number' }).notNull().default(0),
});

export const accounts = pgTable(
  'accounts',
  {
    ...recordBase(),
    name: text('name').notNull(),
    domain: text('domain'),
    industry: text('industry'),
    phone: text('phone'),
    address: text('address'),
  },
  (t) => [...recordKeys('accounts', t), index('accounts_org_created_idx').on(t.organizationId, t.createdAt, t.id)],
);

export const contacts = pgTable(
  'contacts',
  {
    ...recordBase(),
    firstName: text('first_name'),
    lastName: text('last_name'),
    email: text('email'),
    phone: text('phone'),
    jobTitle: text('job_title'),
    address: text('address'),
    notes: text('notes'),
    accountId: uuid('account_id'),
    ...retentionColumns(),
  },
  (t) => [
    ...recordKeys('contacts', t),
    recordRef('contacts_account_id_fk', t.organizationId, t.accountId, accounts),
    index('contacts_org_created_idx').on(t.organizationId, t.createdAt, t.id),
    index('contacts_org_state_idx').on(t.organizationId, t.retentionState),
    index('contacts_org_retention_idx').on(t.organizationId, t.retentionEndsAt),
    index('contacts_org_deletes_idx').on(t.organizationId, t.deletesAt),
    index('contacts_account_idx').on(t.accountId),
    check('contacts_state_ck', sql`${t.retentionState} in ('ACTIVE', 'EXPIRED', 'MASKED')`),
    check('contacts_retention_source_ck', sql`${t.retentionSource} in ('NONE', 'POLICY', 'CUSTOM')`),
  ],
);

export const leads = pgTable(
  'leads',
  {
    ...recordBase(),
    firstName: text('first_name'),
    lastName: text('last_name'),
    email: text('email'),
    phone: text('phone'),
    company: text('company'),
    title: text('title'),
    website: text('website'),
    status: text('status'),
    source: text('source'),
    notes: text('notes'),
    ...retentionColumns(),
  },
  (t) => [
    ...recordKeys('leads', t),
    index('leads_org_created_idx').on(t.organizationId, t.createdAt, t.id),
    index('leads_org_state_idx').on(t.organizationId, t.retentionState),
    index('leads_org_retention_idx').on(t.organizationId, t.retentionEndsAt),
    index('leads_org_deletes_idx').on(t.organizationId, t.deletesAt),
    check('leads_state_ck', sql`${t.retentionState} in ('ACTIVE', 'EXPIRED', 'MASKED')`),
    check('leads_retention_source_ck', sql`${t.retentionSource} in ('NONE', 'POLICY', 'CUSTOM')`),
  ],
);

export const deals = pgTable(
  'deals',
  {
    ...recordBase(),
    name: text('name').notNull(),
    amount: doublePrecision('amount'),
    currency: text('currency'),
    stage: text('stage'),
    closeDate: date('close_date', { mode: 'string' }),
    accountId: uuid('account_id'),
    contactId: uuid('contact_id'),
  },
  (t) => [
    ...recordKeys('deals', t),
    recordRef('deals_account_id_fk', t.organizationId, t.accountId, accounts),
    recordRef('deals_contact_id_fk', t.organizationId, t.contactId, contacts),
    index('deals_org_created_idx').on(t.organizationId, t.createdAt, t.id),
    index('deals_account_idx').on(t.accountId),
    index('deals_contact_idx').on(t.contactId),
    check('deals_amount_ck', sql`${t.amount} is null or ${t.amount} >= 0`),
  ],
);
