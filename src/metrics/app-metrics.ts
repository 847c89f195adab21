import { Counter, exponentialBuckets, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../shared/logger.ts';
import { httpMethodLabel, httpRouteLabel, type OperationType } from './metric-labels.ts';
import { processMetricsText } from './process-metrics.ts';
import type { QueueDepth } from './queue-depth.ts';

/** Prefix of the service's own metrics (process metrics keep prom-client's standard names). */
const P = 'crm_data_admin_';

/** What the metrics read on scrape: the pool's counters, the job queues' depth, the open WebSockets. */
export interface MetricSources {
  pool: { totalCount: number; idleCount: number; waitingCount: number };
  queueDepth(): Promise<QueueDepth[]>;
  log: Logger;
}

export interface WebSocketSource {
  connections(): number;
  /** Operations running on all sockets (subscriptions, and queries or mutations while they execute). */
  operations(): number;
}

export type BackupOutcome = { outcome: 'completed'; seconds: number; records: number; bytes: number } | { outcome: 'failed' };

/**
 * One app's metrics, in a registry of its own (tests run several apps in one process). Every label value comes
 * from a fixed set the service defines — never an organization, user, record id, operation name or anything a
 * client sends — so the number of series stays bounded however many organizations and clients there are.
 */
export class AppMetrics {
  readonly registry = new Registry();
  private readonly reg = [this.registry];
  private websocketSource: WebSocketSource | undefined;

  private readonly httpDuration = new Histogram({
    name: `${P}http_request_duration_seconds`,
    help: 'HTTP requests by method, route (a fixed set) and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: this.reg,
  });
  private readonly graphqlDuration = new Histogram({
    name: `${P}graphql_request_duration_seconds`,
    help: 'GraphQL operations over HTTP by operation type (unknown: refused before an operation was resolved) and outcome',
    labelNames: ['operation_type', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: this.reg,
  });
  private readonly jobsFinished = new Counter({
    name: `${P}jobs_finished_total`,
    help: 'Job attempts that ended, by queue and outcome (failed: the handler threw; pg-boss may retry it)',
    labelNames: ['queue', 'outcome'] as const,
    registers: this.reg,
  });
  private readonly jobDuration = new Histogram({
    name: `${P}job_duration_seconds`,
    help: 'Time a job handler ran, by queue',
    labelNames: ['queue'] as const,
    buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: this.reg,
  });
  private readonly backupsFinished = new Counter({
    name: `${P}backups_finished_total`,
    help: 'Backups that ended COMPLETED or FAILED, by outcome',
    labelNames: ['outcome'] as const,
    registers: this.reg,
  });
  private readonly backupDuration = new Histogram({
    name: `${P}backup_duration_seconds`,
    help: 'Time a completed backup took to build and store its archive',
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: this.reg,
  });
  private readonly backupThroughput = new Histogram({
    name: `${P}backup_records_per_second`,
    help: 'Records per second of each completed backup',
    buckets: [100, 1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 200_000],
    registers: this.reg,
  });
  private readonly backupRecords = new Counter({
    name: `${P}backup_records_total`,
    help: 'Records written into completed backup archives',
    registers: this.reg,
  });
  private readonly archiveBytes = new Histogram({
    name: `${P}backup_archive_bytes`,
    help: 'Size of each completed backup archive (the _sum is the bytes written)',
    buckets: exponentialBuckets(64 * 1024, 4, 10), // 64 KiB … 16 GiB
    registers: this.reg,
  });
  private readonly sweptRecords = new Counter({
    name: `${P}retention_swept_records_total`,
    help: 'Records the retention sweep expired, masked or deleted',
    labelNames: ['action'] as const,
    registers: this.reg,
  });
  private readonly sweepLock = new Histogram({
    name: `${P}retention_batch_lock_seconds`,
    help: 'How long each retention sweep batch held its row locks',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: this.reg,
  });
  private readonly importRows = new Counter({
    name: `${P}import_rows_total`,
    help: 'Imported rows by outcome (created, updated, skipped: tombstoned ids, failed: invalid rows)',
    labelNames: ['outcome'] as const,
    registers: this.reg,
  });

  constructor(private readonly sources: MetricSources) {
    this.scrapeGauges();
  }

  /** The exposition: this app's metrics, then the process's (text format 0.0.4). */
  async render(): Promise<{ contentType: string; body: string }> {
    const [app, proc] = await Promise.all([this.registry.metrics(), processMetricsText()]);
    return { contentType: this.registry.contentType, body: `${app}\n${proc}` };
  }

  httpRequest(method: string, path: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ method: httpMethodLabel(method), route: httpRouteLabel(path), status_code: String(statusCode) }, seconds);
  }

  graphqlRequest(type: OperationType, failed: boolean, seconds: number): void {
    this.graphqlDuration.observe({ operation_type: type, outcome: failed ? 'error' : 'ok' }, seconds);
  }

  /** Runs a job handler, counting its jobs by outcome and timing it. The handler's error is rethrown as it was. */
  async timeJob<T>(queue: string, jobs: number, handler: () => Promise<T>): Promise<T> {
    const end = this.jobDuration.startTimer({ queue });
    try {
      const result = await handler();
      this.jobsFinished.inc({ queue, outcome: 'completed' }, jobs);
      return result;
    } catch (error) {
      this.jobsFinished.inc({ queue, outcome: 'failed' }, jobs);
      throw error;
    } finally {
      end();
    }
  }

  backupFinished(result: BackupOutcome): void {
    this.backupsFinished.inc({ outcome: result.outcome });
    if (result.outcome !== 'completed') return;
    this.backupDuration.observe(result.seconds);
    this.backupRecords.inc(result.records);
    if (result.seconds > 0) this.backupThroughput.observe(result.records / result.seconds);
    this.archiveBytes.observe(result.bytes);
  }

  retentionBatch(pass: 'EXPIRE' | 'MASK' | 'DELETE', count: number, lockMs: number): void {
    const action = pass === 'EXPIRE' ? 'expired' : pass === 'MASK' ? 'masked' : 'deleted';
    this.sweptRecords.inc({ action }, count);
    this.sweepLock.observe(lockMs / 1000);
  }

  importBatch(rows: { created: number; updated: number; skipped: number; failed: number }): void {
    for (const outcome of ['created', 'updated', 'skipped', 'failed'] as const) this.importRows.inc({ outcome }, rows[outcome]);
  }

  /** The WebSocket server of an api process; counted on scrape, so a socket that dies unnoticed is never miscounted. */
  watchWebSockets(source: WebSocketSource): void {
    this.websocketSource = source;
  }

  /** Gauges read on scrape: always current, and nothing to keep in step as connections and jobs come and go. */
  private scrapeGauges(): void {
    const { sources } = this;
    const websockets = () => this.websocketSource;
    new Gauge({
      name: `${P}websocket_connections`,
      help: 'Open WebSocket connections (api roles)',
      registers: this.reg,
      collect() {
        this.set(websockets()?.connections() ?? 0);
      },
    });
    new Gauge({
      name: `${P}websocket_operations_active`,
      help: 'GraphQL operations running on WebSockets: subscriptions, and queries or mutations while they execute',
      registers: this.reg,
      collect() {
        this.set(websockets()?.operations() ?? 0);
      },
    });
    new Gauge({
      name: `${P}db_pool_connections`,
      help: 'Connections of the service pool by state (total, idle) and requests waiting for one',
      labelNames: ['state'] as const,
      registers: this.reg,
      collect() {
        this.set({ state: 'total' }, sources.pool.totalCount);
        this.set({ state: 'idle' }, sources.pool.idleCount);
        this.set({ state: 'waiting' }, sources.pool.waitingCount);
      },
    });
    new Gauge({
      name: `${P}job_queue_depth`,
      help: 'Jobs by queue and pg-boss state (created, retry, active); each count stops at 10000',
      labelNames: ['queue', 'state'] as const,
      registers: this.reg,
      async collect() {
        this.reset();
        try {
          for (const row of await sources.queueDepth()) this.set({ queue: row.queue, state: row.state }, row.jobs);
        } catch (error) {
          // A scrape while the database is away still answers (process metrics, counters); the gauge is empty.
          sources.log.warn({ err: (error as Error).message }, 'metrics: could not read the job queue depth');
        }
      },
    });
  }
}
