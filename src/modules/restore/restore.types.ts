import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { CrmModule, type CrmModuleName } from '../crm/crm.types.ts';
import type { ImportJobRow, ImportStatusName } from './import-job.repository.ts';

export const ImportStatus = { PENDING: 'PENDING', RUNNING: 'RUNNING', COMPLETED: 'COMPLETED', FAILED: 'FAILED' } as const;
registerEnumType(ImportStatus, { name: 'ImportStatus' });

@ObjectType({ description: 'A row that was not imported, and why' })
export class ImportRowError {
  @Field(() => String, { nullable: true, description: 'The file (and XLSX sheet) the row is in' }) file!: string | null;
  @Field(() => Int, { description: 'Row number as a spreadsheet shows it: the header is row 1' }) row!: number;
  @Field(() => String, { description: 'The column and the rule, e.g. "email: must be a valid email address"' }) message!: string;
}

@ObjectType()
export class ImportJob {
  @Field(() => ID) id!: string;
  @Field(() => CrmModule, { nullable: true, description: 'The module of a CSV/XLSX import (or of a one-module restore)' })
  module!: CrmModuleName | null;
  @Field(() => [CrmModule], { nullable: true, description: 'A ZIP import or restore: the modules chosen (null: all in the archive)' })
  modules!: CrmModuleName[] | null;
  @Field(() => ImportStatus) status!: ImportStatusName;
  @Field(() => Int, { description: 'Data rows read so far, good or bad' }) processedRows!: number;
  @Field(() => Int) created!: number;
  @Field(() => Int) updated!: number;
  @Field(() => Int, { description: 'Rows left out on purpose: deleted for good by retention (tombstone), or masked here' })
  skipped!: number;
  @Field(() => Int, { description: 'Rows refused; the first 1,000 are in `errors`' }) failed!: number;
  @Field(() => [ImportRowError]) errors!: ImportRowError[];
  @Field(() => String, { nullable: true, description: 'Why a FAILED job stopped' }) error!: string | null;
  @Field(() => String, { nullable: true }) fileName!: string | null;
  @Field(() => ID, { nullable: true, description: 'The backup a restore reads from' }) backupId!: string | null;
  @Field(() => GraphQLDateTimeISO) createdAt!: Date;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) startedAt!: Date | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) finishedAt!: Date | null;
}

export function toImportJob(row: ImportJobRow): ImportJob {
  return {
    id: row.id,
    module: (row.module as CrmModuleName | null) ?? null,
    modules: (row.modules as CrmModuleName[] | null) ?? null,
    status: row.status,
    processedRows: row.processedRows,
    created: row.created,
    updated: row.updated,
    skipped: row.skipped,
    failed: row.failed,
    errors: row.errors.map((e) => ({ file: e.file, row: e.row, message: e.message })),
    error: row.error,
    fileName: row.fileName,
    backupId: row.sourceKind === 'BACKUP' ? row.sourceKey : null,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}
