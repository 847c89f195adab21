import type pg from 'pg';
import { withTransaction } from '../../db/transaction.ts';
import { eventNotifyQuery } from '../../events/event-topics.ts';
import { MODULES, type ModuleSpec } from '../crm/crm.modules.ts';
import type { ImportRecord } from './import-row.ts';
import { recordBatch, type BatchProgress } from './import-job.repository.ts';
import type { ImportCheckpoint, ImportRowErrorRecord } from './import.table.ts';
import { referencedIds, upsertRecords } from './record-upsert.repository.ts';

export interface Batch {
  spec: ModuleSpec;
  file: string;
  records: ImportRecord[];
  /** Problems found while reading the rows (not yet counted anywhere). */
  rowErrors: ImportRowErrorRecord[];
  /** Rows read, good or bad. */
  rows: number;
  checkpoint: ImportCheckpoint;
  /** How many more row errors the job keeps (API.md: the first 1,000); all of them are counted. */
  errorRoom: number;
  /** The checkpoint this batch follows (the batch before it, or where the run started). */
  after: ImportCheckpoint | null;
  /** The batch before, still in flight: this one commits only after it did. */
  previous?: Promise<void>;
}

export interface BatchTarget {
  pool: pg.Pool;
  organizationId: string;
  importId: string;
  /** The run's attempt number: a superseded run's batches are refused (StaleAttempt). */
  attempt: number;
}

/** Commits one batch with the job's progress; what ImportRun calls (tests wrap it to inject failures). */
export type BatchWriter = (target: BatchTarget, batch: Batch, notify: boolean) => Promise<BatchProgress>;

/** The job row refused the batch: another run took the job over (pg-boss delivered it again); this one stops. */
export class StaleAttempt extends Error {}

/** The batch before this one failed, so this one rolls back (the run reports the earlier failure). */
export class PreviousBatchFailed extends Error {}

interface Outcome {
  created: number;
  updated: number;
  skipped: number;
  errors: ImportRowErrorRecord[];
}

/**
 * Writes one batch in one transaction: the records, the job's counters and checkpoint, and (when `notify`) the
 * progress event. A crash leaves the batch entirely in or entirely out, and the checkpoint says which.
 *
 * A database error on the set-based path (a value PostgreSQL refuses, a reference deleted meanwhile) would
 * otherwise sink the whole batch for one row: the batch is then redone row by row, each under a savepoint, so
 * only the offending rows are reported.
 */
export const writeBatch: BatchWriter = async (target, batch, notify) => {
  try {
    return await batchTransaction(target.pool, (client) => commitBatch(client, target, batch, notify, () => storeRecords(client, target, batch, batch.records)));
  } catch (error) {
    if (!isDataError(error)) throw error;
    return batchTransaction(target.pool, (client) => commitBatch(client, target, batch, notify, () => storeOneByOne(client, target, batch)));
  }
};

async function commitBatch(
  client: pg.PoolClient,
  target: BatchTarget,
  batch: Batch,
  notify: boolean,
  store: () => Promise<Outcome>,
): Promise<BatchProgress> {
  const outcome = batch.records.length > 0 ? await store() : { created: 0, updated: 0, skipped: 0, errors: [] };
  const errors = [...batch.rowErrors, ...outcome.errors].sort((a, b) => a.row - b.row);
  const progress: BatchProgress = {
    processed: batch.rows,
    created: outcome.created,
    updated: outcome.updated,
    skipped: outcome.skipped,
    failed: errors.length,
    errors: errors.slice(0, batch.errorRoom),
    checkpoint: batch.checkpoint,
  };
  if (batch.previous) {
    await batch.previous.catch(() => {
      throw new PreviousBatchFailed(`import ${target.importId}: the batch before ${batch.file} row ${batch.checkpoint.row} failed`);
    });
  }
  if (!(await recordBatch(client, target.organizationId, target.importId, target.attempt, batch.after, progress))) {
    throw new StaleAttempt(`import ${target.importId}: attempt ${target.attempt} was superseded`);
  }
  if (notify) await client.query(eventNotifyQuery('importJobUpdated', target.importId, { importJobId: target.importId }));
  return progress;
}

async function storeOneByOne(client: pg.PoolClient, target: BatchTarget, batch: Batch): Promise<Outcome> {
  const total: Outcome = { created: 0, updated: 0, skipped: 0, errors: [] };
  const unique = withoutRepeatedIds(batch.records, (record, message) => total.errors.push({ file: batch.file, row: record.row, message }));
  for (const record of unique) {
    await client.query('savepoint import_row');
    try {
      const one = await storeRecords(client, target, batch, [record]);
      await client.query('release savepoint import_row');
      total.created += one.created;
      total.updated += one.updated;
      total.skipped += one.skipped;
      total.errors.push(...one.errors);
    } catch (error) {
      if (!isDataError(error)) throw error;
      await client.query('rollback to savepoint import_row');
      total.errors.push({ file: batch.file, row: record.row, message: databaseMessage(error) });
    }
  }
  return total;
}

/** Check references, then classify and upsert in one statement: the rules of a restore, set-based. */
async function storeRecords(client: pg.PoolClient, target: BatchTarget, batch: Batch, records: ImportRecord[]): Promise<Outcome> {
  const { spec, file } = batch;
  const outcome: Outcome = { created: 0, updated: 0, skipped: 0, errors: [] };
  const fail = (record: ImportRecord, message: string) => outcome.errors.push({ file, row: record.row, message });
  const unique = withoutRepeatedIds(records, fail);
  const writable = await resolveReferences(client, spec, target.organizationId, unique, fail);
  if (writable.length === 0) return outcome;
  const written = await upsertRecords(client, spec, target.organizationId, writable);
  for (const record of writable) {
    switch (written.get(record.id)) {
      case 'inserted':
        outcome.created += 1;
        break;
      case 'updated':
        outcome.updated += 1;
        break;
      case 'tombstoned':
      case 'masked':
        outcome.skipped += 1;
        break;
      default:
        // Refused by the guard, then deleted before we could ask why: nothing was written.
        fail(record, 'id: the record changed while importing; the row was not imported');
    }
  }
  return outcome;
}

function withoutRepeatedIds(records: ImportRecord[], fail: (r: ImportRecord, message: string) => void): ImportRecord[] {
  const firstRow = new Map<string, number>();
  return records.filter((record) => {
    const first = firstRow.get(record.id);
    if (first !== undefined) {
      fail(record, `id: repeats the id of row ${first}; the row was not imported`);
      return false;
    }
    firstRow.set(record.id, record.row);
    return true;
  });
}

/**
 * accountId/contactId must name records of the organization, as in the GraphQL mutations. A reference to a record
 * that retention deleted for good is cleared instead: that is what its deletion did to the live data.
 */
async function resolveReferences(
  client: pg.PoolClient,
  spec: ModuleSpec,
  organizationId: string,
  records: ImportRecord[],
  fail: (r: ImportRecord, message: string) => void,
): Promise<ImportRecord[]> {
  let kept = records;
  for (const [field, rule] of Object.entries(spec.fields)) {
    if (rule.kind !== 'ref') continue;
    const ids = [...new Set(kept.map((r) => r.values[field]).filter((v): v is string => typeof v === 'string'))];
    if (ids.length === 0) continue;
    const refSpec = MODULES[rule.ref!];
    const found = await referencedIds(client, refSpec, organizationId, ids);
    kept = kept.filter((record) => {
      const id = record.values[field];
      if (typeof id !== 'string' || found.existing.has(id)) return true;
      if (found.tombstoned.has(id)) {
        record.values[field] = null;
        return true;
      }
      fail(record, `${field}: must be the id of a ${refSpec.noun} of your organization`);
      return false;
    });
  }
  return kept;
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): a row's fault, not the database's. */
function isDataError(error: unknown): error is { code: string } {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

// Fixed texts: PostgreSQL's own messages can quote the offending value, which may be personal data.
function databaseMessage(error: { code: string }): string {
  if (error.code === '22008' || error.code === '22007') return 'a date is outside the range the database can store';
  if (error.code === '22021' || error.code === '22P05') return 'holds a character the database cannot store (e.g. a NUL byte)';
  if (error.code === '23503') return 'references a record that no longer exists';
  if (error.code === '23514') return 'breaks a rule of the database (a check constraint)';
  if (error.code.startsWith('22')) return `holds a value the database refuses (SQLSTATE ${error.code})`;
  return `could not be stored (SQLSTATE ${error.code})`;
}

/**
 * A batch transaction commits without waiting for its WAL flush: a crash may lose the last few batches, but each
 * one together with its checkpoint, so the rerun simply does them again. The job's final transaction commits
 * synchronously, which flushes every earlier batch too before pg-boss hears "done".
 */
function batchTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(pool, (tx) => work(tx.q), { synchronousCommit: false });
}
