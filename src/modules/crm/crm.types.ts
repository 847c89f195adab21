import { GraphQLDateTimeISO } from 'graphql-scalars';
import { type ClassType, Field, Float, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType, type ConnectionShape } from '../../graphql/connection.ts';
import { CRM_MODULE_NAMES, MODULES, perModule, type CrmModuleName, type FieldSpec, type ModuleSpec } from './crm.modules.ts';

export const CrmModule = { LEADS: 'LEADS', CONTACTS: 'CONTACTS', ACCOUNTS: 'ACCOUNTS', DEALS: 'DEALS' } as const;
registerEnumType(CrmModule, { name: 'CrmModule' });
export type { CrmModuleName };

export const RetentionState = { ACTIVE: 'ACTIVE', EXPIRED: 'EXPIRED', MASKED: 'MASKED' } as const;
export type RetentionStateName = keyof typeof RetentionState;
registerEnumType(RetentionState, { name: 'RetentionState' });

export const RetentionDateSource = { NONE: 'NONE', POLICY: 'POLICY', CUSTOM: 'CUSTOM' } as const;
export type RetentionDateSourceName = keyof typeof RetentionDateSource;
registerEnumType(RetentionDateSource, { name: 'RetentionDateSource' });

@ObjectType()
export class RecordRetention {
  @Field(() => RetentionState) state!: RetentionStateName;
  @Field(() => GraphQLDateTimeISO, { nullable: true, description: "The record's retention date" })
  retentionEndsAt!: Date | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true, description: "The record's deletion date" })
  deletesAt!: Date | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) maskedAt!: Date | null;
  @Field(() => Boolean) legalHold!: boolean;
  @Field(() => RetentionDateSource, {
    description: 'CUSTOM: set on this record by hand; survives policy changes and recomputes',
  })
  source!: RetentionDateSourceName;
  @Field(() => Boolean, { description: "May the viewer change this record's retention date" })
  canEdit!: boolean;
}

/*
 * The record types and inputs are built from the registry (records/*.record.ts), so a field added there appears in
 * GraphQL with no other change. tsx/esbuild emit no decorator metadata: every field gets an explicit type function.
 * Relations (owner, account, contact) and `retention` are field resolvers in crm.resolver.ts.
 */

const scalarOf = (spec: FieldSpec) => (spec.kind === 'amount' ? Float : spec.kind === 'ref' ? ID : String);

function addField(target: object, name: string, type: () => object, options: { nullable?: boolean; description?: string }): void {
  Field(type, options)(target, name);
}

function recordObjectType(spec: ModuleSpec): ClassType {
  class RecordType {}
  addField(RecordType.prototype, 'id', () => ID, {});
  for (const [name, field] of Object.entries(spec.fields)) {
    if (field.kind === 'ref') continue; // exposed as its relation
    addField(RecordType.prototype, name, () => scalarOf(field), { nullable: !field.required, description: field.description });
  }
  addField(RecordType.prototype, 'createdAt', () => GraphQLDateTimeISO, {});
  addField(RecordType.prototype, 'updatedAt', () => GraphQLDateTimeISO, {});
  ObjectType(spec.typeName)(RecordType);
  return RecordType;
}

// Inputs: every writable field is optional. On update an absent field is left unchanged, null clears it.
function recordInputType(spec: ModuleSpec): ClassType {
  class RecordInput {}
  for (const [name, field] of Object.entries(spec.fields)) {
    const description = field.required ? 'Required on create' : (field.inputDescription ?? field.description);
    addField(RecordInput.prototype, name, () => scalarOf(field), { nullable: true, description });
  }
  addField(RecordInput.prototype, 'ownerId', () => ID, { nullable: true, description: 'Default on create: the viewer' });
  InputType(`${spec.typeName}Input`)(RecordInput);
  return RecordInput;
}

export interface RecordTypes {
  type: ClassType;
  input: ClassType;
  connection: ClassType<ConnectionShape<object>>;
}

function recordTypes(spec: ModuleSpec): RecordTypes {
  const type = recordObjectType(spec);
  return { type, input: recordInputType(spec), connection: connectionType(type, `${spec.typeName}Connection`) };
}

/** The GraphQL classes of every module (`Lead`, `LeadInput`, `LeadConnection`, …). */
export const RECORD_TYPES = perModule(CRM_MODULE_NAMES, (module) => recordTypes(MODULES[module]));
