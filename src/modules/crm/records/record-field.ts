/**
 * The vocabulary of the CRM record registry (`*.record.ts`): one field is described once, with everything the
 * rest of the service derives from it (GraphQL type and input, archive column and cell format, import parsing,
 * validation, masking).
 */
export type CrmModuleName = 'LEADS' | 'CONTACTS' | 'ACCOUNTS' | 'DEALS';

/** The value's rule and cell format: text of a length, a validated format, a number, a calendar day, an id. */
export type FieldKind = 'text' | 'email' | 'amount' | 'date' | 'currency' | 'ref';

/** How retention masks a personal field (masking.ts renders each, in TS and in SQL). */
export type MaskKind = 'name' | 'email' | 'phone' | 'text';

export interface FieldSpec {
  /** The table column (snake_case). The field name (the record's key) is the GraphQL field and the archive header. */
  column: string;
  kind: FieldKind;
  /** Longest accepted text. */
  max?: number;
  /** NOT NULL in the table; required on create, may not be cleared on update. */
  required?: boolean;
  /** For `ref`: the module the id must name (in the same organization). */
  ref?: CrmModuleName;
  /** For `ref`: the GraphQL field that resolves the id to the record (`accountId` → `account`). */
  relation?: string;
  /** Personal data: masked this way by retention, its original kept in the vault. */
  personal?: MaskKind;
  /** Added after archive format 1: files written before it may lack its column (then the field is left as it is). */
  addedLater?: boolean;
  /** Shown on the GraphQL type and input. */
  description?: string;
  /** Shown on the GraphQL input only (where it tells a writer a rule). */
  inputDescription?: string;
}

export interface RecordDefinition<M extends CrmModuleName = CrmModuleName, R extends boolean = boolean> {
  module: M;
  /** The table, and the archive's file base (`leads.csv`, sheet `leads`). */
  table: string;
  /** Singular, for messages ("contact not found") and operation names (`createContact`). */
  noun: string;
  /** The GraphQL object type; `<typeName>Input` and `<typeName>Connection` follow from it. */
  typeName: string;
  /** Whether the records hold personal data and carry retention dates and state. */
  retention: R;
  /** In the order of the GraphQL type and of the archive columns (API.md §5). */
  fields: Record<string, FieldSpec>;
}

/** Keeps the literal module name and retention flag, so that `RetentionModule` is derived at the type level. */
export function defineRecord<const M extends CrmModuleName, const R extends boolean>(
  definition: RecordDefinition<M, R>,
): RecordDefinition<M, R> {
  return definition;
}

export const NAME_MAX = 200;
export const NOTES_MAX = 10_000;
export const ADDRESS_MAX = 1000;
export const PHONE_MAX = 50;

export const text = (column: string, max: number, extra: Partial<FieldSpec> = {}): FieldSpec => ({ column, kind: 'text', max, ...extra });

/** A reference to another module's record, exposed on the GraphQL type as `relation`. */
export const ref = (column: string, module: CrmModuleName, relation: string): FieldSpec => ({ column, kind: 'ref', ref: module, relation });

/** The name, email and phone fields of a person (leads and contacts), all personal. */
export const personFields = (): Record<string, FieldSpec> => ({
  firstName: text('first_name', NAME_MAX, { personal: 'name' }),
  lastName: text('last_name', NAME_MAX, { personal: 'name' }),
  email: { column: 'email', kind: 'email', personal: 'email' },
  phone: text('phone', PHONE_MAX, { personal: 'phone' }),
});

/** Free-text notes about a person: anything may be written there, so they are personal. */
export const personalNotes = (): FieldSpec => text('notes', NOTES_MAX, { personal: 'text' });
