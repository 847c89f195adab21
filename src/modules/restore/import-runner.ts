import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { DEFAULT_IMPORT_LIMITS, type ImportLimits } from '../../import/import-limits.ts';
import { UnreadableFileError, type TableReader } from '../../import/table.types.ts';
import type { BlobStore } from '../../storage/blob-store.ts';
import { MODULES } from '../crm/crm.modules.ts';
import { ProgressThrottle } from '../../jobs/job-progress.ts';
import type { Batch, BatchWriter } from './import-batch.ts';
import { BatchPipeline } from './import-pipeline.ts';
import type { ImportCheckpoint } from './import.table.ts';
import { planHeader, type HeaderPlan } from './import-columns.ts';
import { MAX_KEPT_ERRORS, setJobModules, userIdsByEmail, type ImportJobRow } from './import-job.repository.ts';
import { RowError, toImportRecord, type RowContext } from './import-row.ts';
import { tablesInWorker } from './import-parse-channel.ts';
import type { CrmModuleName } from '../crm/crm.modules.ts';
import type { LocalSource } from './import-sources.ts';
import { createImportTempDir } from './import-temp-dir.ts';

/** What a run needs; the service passes its own dependencies. */
export interface ImportRunDeps {
  pool: pg.Pool;
  blobs: BlobStore;
  openArchive(organizationId: string, backupId: string): Promise<Readable>;
  /** Commits one batch (import-batch.ts `writeBatch`; tests pass one that fails). */
  writeBatch: BatchWriter;
  options: ImportOptions;
}

/** Settings of imports, fixed when the service is built (tests and benchmarks pass their own). */
export interface ImportOptions {
  /** Rows per transaction: large enough to amortise round trips, small enough to keep locks and memory short. */
  batchSize: number;
  /** Progress events at most this often (every state change is an event regardless). */
  progressIntervalMs: number;
  /** Batches written at once (each on its own connection, committed in file order). */
  parallelBatches: number;
  /** Caps on what a file may make the parser do (config IMPORT_MAX_*). */
  limits: ImportLimits;
  /** Heap of the parser thread in MB (IMPORT_WORKER_MEMORY_MB). */
  parserMemoryMb: number;
  /** Where each attempt keeps its local copy of the source (default: the OS temp folder). */
  tempDir: string;
}

export const DEFAULT_IMPORT_OPTIONS: ImportOptions = {
  batchSize: 2_000,
  progressIntervalMs: 500,
  parallelBatches: 2,
  limits: DEFAULT_IMPORT_LIMITS,
  parserMemoryMb: 512,
  tempDir: os.tmpdir(),
};

/**
 * One attempt at an import job: copy the source to a local file, read its tables in order, and write batches of
 * rows. Resumes after the job's checkpoint, so a rerun after a crash neither repeats nor skips a row; and every
 * write is an upsert, so even a rerun from the start would converge on the same records.
 */
export class ImportRun {
  private keptErrors: number;
  /** Progress events by time only: an import does not know its total before the end. */
  private readonly throttle: ProgressThrottle;
  private rowsPushed = 0;
  /** The job's checkpoint when the current table began: where its first batch follows on. */
  private lastCheckpoint: ImportCheckpoint | null;

  constructor(
    private readonly deps: ImportRunDeps,
    private readonly job: ImportJobRow,
    private readonly startedAt: Date,
  ) {
    this.keptErrors = job.errors.length;
    this.lastCheckpoint = job.checkpoint;
    this.throttle = new ProgressThrottle(deps.options.progressIntervalMs, Number.POSITIVE_INFINITY, deps.options.progressIntervalMs);
  }

  async execute(): Promise<void> {
    const options = this.deps.options;
    const tempDir = await createImportTempDir(options.tempDir);
    try {
      const source = await this.copySource(tempDir);
      const owners = await userIdsByEmail(this.deps.pool, this.job.organizationId);
      const ctx: RowContext = {
        ownerByEmail: (email) => owners.get(email.toLowerCase()),
        defaultTimestamp: this.startedAt.getTime(),
      };
      // The file is read in a parser thread (an untrusted file never runs a parser on this thread); rows arrive
      // here to be checked and written.
      const modules = source.format === 'ZIP' ? ((this.job.modules as CrmModuleName[] | null) ?? null) : [this.job.module as CrmModuleName];
      const tables = tablesInWorker({ source, modules, tempDir, limits: options.limits }, { maxOldGenerationSizeMb: options.parserMemoryMb }, (found) =>
        this.recordModules(found),
      );
      let table = 0;
      for await (const { module, reader, unescapeText } of tables) {
        await this.importTable(table, planHeader(module, reader.header, reader.file, unescapeText), reader, ctx);
        table += 1;
      }
    } finally {
      await fs.rm(tempDir, { recursive: true, force: true });
    }
  }

  private async copySource(tempDir: string): Promise<LocalSource> {
    const job = this.job;
    const input =
      job.sourceKind === 'BACKUP'
        ? await this.deps.openArchive(job.organizationId, job.sourceKey)
        : await this.deps.blobs.openRead(job.sourceKey);
    const local = path.join(tempDir, `source.${job.format.toLowerCase()}`);
    await pipeline(input, createWriteStream(local));
    return { format: job.format, path: local, fileName: job.fileName ?? path.basename(local) };
  }

  private async importTable(table: number, plan: HeaderPlan, reader: TableReader, ctx: RowContext): Promise<void> {
    const checkpoint = this.job.checkpoint;
    if (checkpoint && checkpoint.table > table) {
      reader.close(); // committed by an earlier attempt
      return;
    }
    const resumeAfter = checkpoint && checkpoint.table === table ? checkpoint.row : 0;
    const pipeline = new BatchPipeline((b) => this.flush(b), this.deps.options.parallelBatches, this.lastCheckpoint);
    let batch = this.newBatch(plan, reader.file, table);
    try {
      for await (const row of reader.rows) {
        if (row.row <= resumeAfter) continue;
        try {
          batch.records.push(toImportRecord(plan, row, ctx));
        } catch (error) {
          if (!(error instanceof RowError)) throw error;
          batch.rowErrors.push({ file: reader.file, row: row.row, message: error.message });
        }
        batch.rows += 1;
        batch.checkpoint = { table, row: row.row };
        if (batch.rows >= this.deps.options.batchSize) {
          await pipeline.push(batch);
          batch = this.newBatch(plan, reader.file, table);
        }
      }
    } catch (error) {
      // Batches in flight settle before the job is finished (their counts must land on a RUNNING job); a file that
      // breaks off mid-way still gets the good rows read before the break. Otherwise the error that stopped the
      // loop is the one to report (the batches after a failed one only fail because of it).
      if (!(error instanceof UnreadableFileError)) await pipeline.drain().catch(() => undefined);
      else {
        await pipeline.drain();
        if (batch.rows > 0) await pipeline.push(batch);
        await pipeline.drain();
      }
      throw error;
    }
    if (batch.rows > 0) await pipeline.push(batch);
    // The next table may reference these rows (contacts → accounts): everything commits before it starts.
    await pipeline.drain();
    this.lastCheckpoint = pipeline.checkpoint;
  }

  /** A ZIP's modules, once its parser has read the archive: the job shows what it restores (all it holds, in order). */
  private async recordModules(found: CrmModuleName[]): Promise<void> {
    const job = this.job;
    if (job.format !== 'ZIP' || JSON.stringify(job.modules) === JSON.stringify(found)) return;
    await setJobModules(this.deps.pool, job.organizationId, job.id, job.attempts, found);
  }

  private newBatch(plan: HeaderPlan, file: string, table: number): Batch {
    return { spec: MODULES[plan.module], file, records: [], rowErrors: [], rows: 0, checkpoint: { table, row: 0 }, errorRoom: 0, after: null };
  }

  /** Writes one batch (BatchPipeline calls it, while the caller reads the next rows). */
  private async flush(batch: Batch): Promise<void> {
    this.rowsPushed += batch.rows;
    const notify = this.throttle.accept({ module: null, processedRecords: this.rowsPushed, totalRecords: 0 }, performance.now());
    batch.errorRoom = Math.max(0, MAX_KEPT_ERRORS - this.keptErrors);
    const target = { pool: this.deps.pool, organizationId: this.job.organizationId, importId: this.job.id, attempt: this.job.attempts };
    const progress = await this.deps.writeBatch(target, batch, notify);
    this.keptErrors += progress.errors.length;
  }
}
