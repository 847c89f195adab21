import { randomUUID } from 'node:crypto';
import type { DomainEvents } from '../../events/domain-events.ts';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Repeater } from '@graphql-yoga/subscription';
import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { errorForLog } from '../../graphql/errors.ts';
import type { EventBus } from '../../events/event-bus.ts';
import { eventNotifyQuery } from '../../events/event-topics.ts';
import { withTransaction } from '../../db/transaction.ts';
import { enqueueInTransaction } from '../../jobs/job-enqueue.ts';
import { finishTracked } from '../../jobs/job-finish.ts';
import { UnreadableFileError } from '../../import/table.types.ts';
import { AppError, badInput, notFound } from '../../shared/app-error.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import { isUuid } from '../../shared/validation.ts';
import { BlobNotFoundError, type BlobStore } from '../../storage/blob-store.ts';
import type { ActivityService } from '../activity/activity.service.ts';
import type { Viewer } from '../auth/auth.types.ts';
import { CRM_MODULE_NAMES, type CrmModuleName } from '../crm/crm.modules.ts';
import * as jobs from './import-job.repository.ts';
import { StaleAttempt, writeBatch, type BatchWriter } from './import-batch.ts';
import { DEFAULT_IMPORT_OPTIONS, ImportRun, type ImportOptions } from './import-runner.ts';
import type { ImportFormat } from './import-job.repository.ts';
import { RESTORE_ORDER } from './import-sources.ts';
import { sweepImportTempDirs } from './import-temp-dir.ts';

export const IMPORT_QUEUE = 'restore-import';
export interface ImportJobData {
  importId: string;
  organizationId: string;
}

/** How restore reaches the archives the backup feature keeps (wired in app.ts). */
export interface BackupArchives {
  /** Throws NOT_FOUND, or BACKUP_NOT_DOWNLOADABLE when the backup has no kept archive. */
  check(organizationId: string, backupId: string): Promise<{ fileName: string | null }>;
  openArchive(organizationId: string, backupId: string): Promise<Readable>;
}

export interface RestoreDeps {
  pool: pg.Pool;
  boss: PgBoss;
  clock: Clock;
  log: Logger;
  activity: ActivityService;
  events: EventBus;
  blobs: BlobStore;
  archives: BackupArchives;
  /** Inside the job's last transaction: lets retention recompute the dates of the modules imported. */
  afterImport?(client: pg.PoolClient, organizationId: string, modules: CrmModuleName[]): Promise<void>;
  /** Email and webhooks hear of finished imports here (in the finishing transaction). */
  domainEvents?: DomainEvents;
  options?: Partial<ImportOptions>;
  /** Default: import-batch.ts `writeBatch`. */
  writeBatch?: BatchWriter;
}

/** Runs started before the job is given up (a worker killed mid-import is retried by pg-boss). */
const MAX_ATTEMPTS = 3;

/** An upload already streamed into the blob store under `uploadKey` (restore.routes.ts), its fields checked. */
export interface StoredUpload {
  id: string;
  sourceKey: string;
  format: ImportFormat;
  fileName: string;
  module: CrmModuleName | null;
  modules: CrmModuleName[] | null;
}

/** Where an upload waits for its job: `imports/<organizationId>/<importId>.<csv|xlsx|zip>`. */
export const uploadKey = (organizationId: string, importId: string, format: ImportFormat): string =>
  `imports/${organizationId}/${importId}.${format.toLowerCase()}`;

/** Finished uploads whose blob a crash may have left (between the job's end and its clean-up) are looked at this far back. */
const ORPHAN_SWEEP_DAYS = 7;

/** Imports and restores (DESIGN.md "Restore"): jobs, their runs, their progress. */
export class RestoreService {
  readonly options: Readonly<ImportOptions>;

  constructor(private readonly deps: RestoreDeps) {
    this.options = Object.freeze({ ...DEFAULT_IMPORT_OPTIONS, ...deps.options });
  }

  /** The job row and its queue entry at once, for an upload in the blob store (any worker may run the job). */
  async createUploadImport(viewer: Viewer, upload: StoredUpload): Promise<jobs.ImportJobRow> {
    if (upload.sourceKey !== uploadKey(viewer.organizationId, upload.id, upload.format)) throw new Error('upload key mismatch');
    return this.enqueue({
      id: upload.id,
      organizationId: viewer.organizationId,
      requestedBy: viewer.userId,
      module: upload.module,
      modules: upload.modules && RESTORE_ORDER.filter((m) => upload.modules!.includes(m)),
      sourceKind: 'UPLOAD',
      sourceKey: upload.sourceKey,
      format: upload.format,
      fileName: upload.fileName.slice(0, 255),
    });
  }

  /**
   * Housekeeping when a worker starts: temporary folders of import attempts whose process died, and the uploads
   * of finished imports that are still stored (a crash between a job's end and its clean-up). Never fails the
   * start: what it cannot remove now, a later start retries.
   */
  async sweepOrphans(): Promise<{ tempDirs: number; uploads: number }> {
    const tempDirs = await sweepImportTempDirs(this.options.tempDir);
    let uploads = 0;
    const since = new Date(this.deps.clock.now().getTime() - ORPHAN_SWEEP_DAYS * 86_400_000);
    for (const key of await jobs.finishedUploadKeys(this.deps.pool, since)) {
      if (await this.deps.blobs.delete(key).catch(() => false)) uploads += 1;
    }
    if (tempDirs + uploads > 0) this.deps.log.info({ tempDirs, uploads }, 'removed what interrupted imports left behind');
    return { tempDirs, uploads };
  }

  async restoreBackup(viewer: Viewer, backupId: string, modules: CrmModuleName[] | null): Promise<jobs.ImportJobRow> {
    if (!isUuid(backupId)) throw notFound('backup');
    const unknown = (modules ?? []).filter((m) => !CRM_MODULE_NAMES.includes(m));
    if (unknown.length > 0) throw badInput('modules', `must be modules of the CRM (${CRM_MODULE_NAMES.join(', ')})`);
    const { fileName } = await this.deps.archives.check(viewer.organizationId, backupId);
    const chosen = modules && modules.length > 0 ? [...new Set(modules)] : null;
    return this.enqueue({
      id: randomUUID(),
      organizationId: viewer.organizationId,
      requestedBy: viewer.userId,
      module: chosen?.length === 1 ? chosen[0]! : null,
      modules: chosen,
      sourceKind: 'BACKUP',
      sourceKey: backupId,
      format: 'ZIP',
      fileName,
    });
  }

  private async enqueue(job: jobs.NewImportJob): Promise<jobs.ImportJobRow> {
    return withTransaction(this.deps.pool, async ({ q: client }) => {
      const row = await jobs.insertImportJob(client, job, this.deps.clock.now());
      const data: ImportJobData = { importId: row.id, organizationId: row.organizationId };
      await enqueueInTransaction(this.deps.boss, client, IMPORT_QUEUE, data);
      return row;
    });
  }

  get(viewer: Viewer, id: string): Promise<jobs.ImportJobRow | undefined> {
    if (!isUuid(id)) return Promise.resolve(undefined);
    return jobs.findImportJob(this.deps.pool, viewer.organizationId, id);
  }

  /**
   * The job now, then after every change, ending with its final state. Checked against the viewer's organization
   * before anything is sent, and on every event (events carry only the id).
   */
  async updates(viewer: Viewer, id: string): Promise<AsyncIterable<jobs.ImportJobRow>> {
    if (!(await this.get(viewer, id))) throw notFound('import job');
    const iterator = this.deps.events.subscribe('importJobUpdated', id);
    return new Repeater<jobs.ImportJobRow>(async (push, stop) => {
      let event = iterator.next(); // listening from here: no change after the snapshot below is missed
      void stop.then(() => iterator.return?.());
      const stopped = stop.then(() => ({ done: true as const, value: undefined }));
      let row = await this.get(viewer, id);
      while (row) {
        await push(row);
        if (isFinished(row)) break;
        if ((await Promise.race([event, stopped])).done) break;
        event = iterator.next();
        row = await this.get(viewer, id);
      }
      stop();
    });
  }

  /** The job handler: one attempt. Throws only for a retry (a transient failure with attempts left). */
  async runJob(data: ImportJobData): Promise<void> {
    const startedAt = this.deps.clock.now();
    const job = await jobs.startAttempt(this.deps.pool, data.organizationId, data.importId, startedAt);
    if (!job) return; // finished already: a second delivery changes nothing
    this.deps.events.publish('importJobUpdated', job.id, { importJobId: job.id });
    if (job.attempts > MAX_ATTEMPTS) {
      await this.finish(job, `Import stopped: it was interrupted ${MAX_ATTEMPTS} times`);
      return;
    }
    const run = new ImportRun(
      {
        pool: this.deps.pool,
        blobs: this.deps.blobs,
        openArchive: (o, b) => this.deps.archives.openArchive(o, b),
        writeBatch: this.deps.writeBatch ?? writeBatch,
        options: this.options,
      },
      job,
      startedAt,
    );
    try {
      await run.execute();
    } catch (error) {
      if (error instanceof StaleAttempt && (await this.superseded(job))) return; // the newer attempt finishes the job
      const reason = failureReason(error);
      const log = { importId: job.id, attempt: job.attempts, ...errorForLog(error) };
      if (reason === undefined && job.attempts < MAX_ATTEMPTS) {
        this.deps.log.warn(log, 'import attempt failed; it will be retried');
        throw error;
      }
      this.deps.log.error(log, 'import failed');
      await this.finish(job, reason ?? 'Import failed because of an internal error; the rows imported so far are kept');
      return;
    }
    await this.finish(job, null);
  }

  private async superseded(job: jobs.ImportJobRow): Promise<boolean> {
    const now = await jobs.findImportJob(this.deps.pool, job.organizationId, job.id);
    return !now || now.attempts !== job.attempts || now.status !== 'RUNNING';
  }

  /** COMPLETED or FAILED, with its activity event and the retention recompute, in one transaction. */
  private async finish(job: jobs.ImportJobRow, error: string | null): Promise<void> {
    const status = error === null ? 'COMPLETED' : 'FAILED';
    await finishTracked(this.deps.pool, {
      mark: (tx) => jobs.finishJob(tx.q, job.organizationId, job.id, job.attempts, { status, error }, this.deps.clock.now()),
      announce: async (tx, done) => {
        await this.deps.activity.record(activityOf(done), tx.db);
        await this.deps.afterImport?.(tx.q, done.organizationId, modulesOf(done));
        const type = done.status === 'COMPLETED' ? 'import.completed' : 'import.failed';
        await this.deps.domainEvents?.emit(tx.q, { type, organizationId: done.organizationId, importId: done.id });
        await tx.q.query(eventNotifyQuery('importJobUpdated', done.id, { importJobId: done.id }));
      },
      cleanUp: async (done) => {
        if (done.sourceKind !== 'UPLOAD') return;
        await this.deps.blobs.delete(done.sourceKey).catch((err: Error) => {
          this.deps.log.warn({ importId: done.id, err: err.message }, 'could not delete an import upload');
        });
      },
    });
  }
}

export const isFinished = (job: { status: string }): boolean => job.status === 'COMPLETED' || job.status === 'FAILED';

/** The job-level message for failures a retry cannot fix; undefined for the others. */
function failureReason(error: unknown): string | undefined {
  if (error instanceof UnreadableFileError) return error.message;
  if (error instanceof AppError && error.code !== 'INTERNAL_SERVER_ERROR') return error.message;
  if (error instanceof BlobNotFoundError) return 'The uploaded file or archive is no longer stored';
  return undefined;
}

function modulesOf(job: jobs.ImportJobRow): CrmModuleName[] {
  if (job.module && job.format !== 'ZIP') return [job.module as CrmModuleName];
  return (job.modules as CrmModuleName[] | null) ?? [...CRM_MODULE_NAMES];
}

function activityOf(job: jobs.ImportJobRow) {
  const what = job.sourceKind === 'BACKUP' ? 'Restore from a backup' : 'Import';
  const counts = `${job.created} created, ${job.updated} updated, ${job.skipped} skipped, ${job.failed} failed`;
  return {
    organizationId: job.organizationId,
    kind: job.status === 'COMPLETED' ? 'import.completed' : 'import.failed',
    actorId: job.requestedBy,
    summary: `${what} ${job.status === 'COMPLETED' ? 'completed' : 'failed'}: ${counts}`,
    subjectType: 'IMPORT' as const,
    subjectId: job.id,
    data: {
      modules: modulesOf(job),
      format: job.format,
      source: job.sourceKind,
      backupId: job.sourceKind === 'BACKUP' ? job.sourceKey : null,
      processedRows: job.processedRows,
      created: job.created,
      updated: job.updated,
      skipped: job.skipped,
      failed: job.failed,
    },
  };
}
