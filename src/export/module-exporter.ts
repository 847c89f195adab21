import { createWriteStream } from 'node:fs';
import path from 'node:path';
import type { ByteSink } from './chunk-writer.ts';
import { CsvWriter } from './csv-writer.ts';
import { type ModuleName, MODULE_SPECS } from './module-columns.ts';
import { RowTranscoder } from './row-transcoder.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { XlsxWriter } from './xlsx-writer.ts';

/** What the exporter needs to know; plain data, so that it can cross into a worker thread. */
export interface ExportJob {
  connectionString: string;
  organizationId: string;
  modules: readonly ModuleName[];
  /** A private directory for the XLSX files until they are copied into the archive. */
  tempDir: string;
  xlsxRowLimit?: number;
  creator: string;
  createdAtMs: number;
}

/**
 * The side that assembles the archive. Calls come strictly in order and each returned promise is awaited, which
 * is the backpressure: `csvChunk` settles when the chunk has been taken, `progress` when the listener is done.
 */
export interface ExportTarget {
  started(info: { snapshotAtMs: number; totals: ReadonlyMap<ModuleName, number> }): Promise<void>;
  moduleStarted(module: ModuleName): Promise<void>;
  csvChunk(module: ModuleName, chunk: Buffer): Promise<void>;
  csvEnded(module: ModuleName): Promise<void>;
  progress(module: ModuleName, processedRecords: number, totalRecords: number): Promise<void>;
  /** The module's workbook is complete at `file`; the target owns (and removes) the file from now on. */
  xlsxReady(module: ModuleName, file: string, records: number): Promise<void>;
}

/** Rows between two progress reports. */
const PROGRESS_ROWS = 5_000;

/**
 * Reads every module once, from one snapshot, and writes each row twice: into the CSV, streamed to the target, and
 * into the XLSX, written to a temporary file (the archive takes entries one at a time, so one of the two must wait
 * somewhere; the XLSX is the smaller, being compressed already).
 */
export async function exportModules(job: ExportJob, target: ExportTarget, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const reader = await SnapshotReader.open({
    connectionString: job.connectionString,
    organizationId: job.organizationId,
    modules: job.modules,
  });
  try {
    await target.started({ snapshotAtMs: reader.snapshotAt.getTime(), totals: reader.totals });
    for (const module of job.modules) {
      signal?.throwIfAborted();
      await new ModuleExport(job, reader, module, target, signal).run();
    }
    await reader.close();
  } catch (error) {
    await reader.destroy();
    throw error;
  }
}

/** One module: COPY rows → RowTranscoder → CSV chunks (to the target) and XLSX sheets (to a file). */
class ModuleExport {
  readonly #module: ModuleName;
  readonly #reader: SnapshotReader;
  readonly #target: ExportTarget;
  readonly #signal: AbortSignal | undefined;
  readonly #total: number;
  readonly #file: string;
  readonly #csv: CsvWriter;
  readonly #csvSink: ByteSink;
  readonly #xlsx: XlsxWriter;
  readonly #transcoder: RowTranscoder;
  #processed = 0;
  #reported = 0;
  #pump: Promise<void> | undefined;

  constructor(job: ExportJob, reader: SnapshotReader, module: ModuleName, target: ExportTarget, signal?: AbortSignal) {
    const spec = MODULE_SPECS[module];
    this.#module = module;
    this.#reader = reader;
    this.#target = target;
    this.#signal = signal;
    this.#total = reader.totals.get(module) ?? 0;
    this.#file = path.join(job.tempDir, `${spec.fileBase}.xlsx`);
    this.#csv = new CsvWriter(spec.columns);
    this.#csvSink = { write: (chunk) => target.csvChunk(module, chunk) };
    this.#transcoder = new RowTranscoder(spec.columns);
    this.#xlsx = new XlsxWriter({
      out: createWriteStream(this.#file),
      sheetName: spec.fileBase,
      columns: spec.columns,
      expectedRows: this.#total,
      rowLimit: job.xlsxRowLimit,
      creator: job.creator,
      createdAt: new Date(job.createdAtMs),
    });
  }

  async run(): Promise<void> {
    try {
      await this.#target.moduleStarted(this.#module);
      await this.#target.progress(this.#module, 0, this.#total);
      await this.#reader.copyRows(this.#module, (row) => this.#onRow(row));
      await this.#pump;
      await this.#csv.writer.drainTo(this.#csvSink, true);
      await this.#target.csvEnded(this.#module);
      if (this.#reported !== this.#processed) await this.#report();
      await this.#xlsx.finish();
      await this.#target.xlsxReady(this.#module, this.#file, this.#processed);
    } catch (error) {
      this.#xlsx.abort(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }

  /** Synchronous for almost every row; returns a promise (which pauses the COPY) when output must move on. */
  #onRow(row: Buffer): Promise<void> | undefined {
    this.#transcoder.transcode(row, this.#xlsx.nextRowNumber(), this.#csv.writer, this.#xlsx.writer);
    this.#processed += 1;
    if (this.#csv.writer.hasFull || this.#xlsx.needsFlush || this.#processed - this.#reported >= PROGRESS_ROWS) {
      // Rows already received keep coming while a pump runs; they join the next one.
      this.#pump ??= this.#pumpOnce().finally(() => {
        this.#pump = undefined;
      });
      return this.#pump;
    }
    return undefined;
  }

  async #pumpOnce(): Promise<void> {
    this.#signal?.throwIfAborted();
    await this.#csv.writer.drainTo(this.#csvSink);
    await this.#xlsx.flush();
    if (this.#processed - this.#reported >= PROGRESS_ROWS) await this.#report();
  }

  async #report(): Promise<void> {
    this.#reported = this.#processed;
    await this.#target.progress(this.#module, this.#processed, this.#total);
  }
}
