import { rm } from 'node:fs/promises';
import type { ExportTarget } from './module-exporter.ts';
import { type ModuleName, MODULE_SPECS } from './module-columns.ts';
import type { ZipEntryInfo, ZipEntryWriter, ZipWriter } from './zip-writer.ts';

export interface ArchiveProgress {
  module: ModuleName;
  processedRecords: number;
  totalRecords: number;
}

export type ProgressListener = (progress: ArchiveProgress) => void | Promise<void>;

export interface ModuleArchiveResult {
  module: ModuleName;
  records: number;
  files: ZipEntryInfo[];
}

/**
 * Turns the exporter's events into archive entries, in the order they come: `leads.csv`, `leads.xlsx`,
 * `contacts.csv`, … The CSV is deflated as it streams; the XLSX is stored (it is a zip already).
 */
export class ArchiveAssembler implements ExportTarget {
  readonly #zip: ZipWriter;
  readonly #onProgress: ProgressListener | undefined;
  readonly #results: ModuleArchiveResult[] = [];
  #csv: { module: ModuleName; entry: ZipEntryWriter; files: ZipEntryInfo[] } | undefined;
  snapshotAt: Date | undefined;

  constructor(zip: ZipWriter, onProgress: ProgressListener | undefined) {
    this.#zip = zip;
    this.#onProgress = onProgress;
  }

  get modules(): readonly ModuleArchiveResult[] {
    return this.#results;
  }

  async started(info: { snapshotAtMs: number }): Promise<void> {
    this.snapshotAt = new Date(info.snapshotAtMs);
  }

  async moduleStarted(module: ModuleName): Promise<void> {
    const entry = this.#zip.openEntry(`${MODULE_SPECS[module].fileBase}.csv`);
    this.#csv = { module, entry, files: [] };
  }

  async csvChunk(module: ModuleName, chunk: Buffer): Promise<void> {
    await this.#current(module).entry.sink.write(chunk);
  }

  async csvEnded(module: ModuleName): Promise<void> {
    const csv = this.#current(module);
    csv.files.push(await csv.entry.end());
  }

  /** The export waits for the listener (keep it quick): its promise is backpressure, and its failure fails the build. */
  async progress(module: ModuleName, processedRecords: number, totalRecords: number): Promise<void> {
    await this.#onProgress?.({ module, processedRecords, totalRecords });
  }

  async xlsxReady(module: ModuleName, file: string, records: number): Promise<void> {
    const csv = this.#current(module);
    try {
      csv.files.push(await this.#zip.appendFile(`${MODULE_SPECS[module].fileBase}.xlsx`, file, { store: true }));
    } finally {
      await rm(file, { force: true });
    }
    this.#results.push({ module, records, files: csv.files });
    this.#csv = undefined;
  }

  #current(module: ModuleName): { module: ModuleName; entry: ZipEntryWriter; files: ZipEntryInfo[] } {
    if (!this.#csv || this.#csv.module !== module) throw new Error(`no open CSV entry for ${module}`);
    return this.#csv;
  }
}
