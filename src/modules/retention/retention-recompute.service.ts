import type pg from 'pg';
import { withTransaction } from '../../db/transaction.ts';
import { eventNotifyQuery } from '../../events/event-topics.ts';
import { enqueueInTransaction } from '../../jobs/job-enqueue.ts';
import type { RetentionModule } from './retention-dates.ts';
import * as tracking from './retention-recompute.repository.ts';
import type { RetentionDeps } from './retention.service.ts';

export const RETENTION_RECOMPUTE_QUEUE = 'retention-recompute';

/** A recompute job's payload. `recomputeId` and `asOf` are absent on jobs enqueued by 0.1 or by imports. */
export interface RecomputeJob {
  organizationId: string;
  module: RetentionModule;
  /** Its tracking row (retention_recomputes). */
  recomputeId?: string;
  /** Records changed by hand after the job was enqueued (retention_version > asOf) are left alone. */
  asOf?: number;
}

/** Enqueues recompute jobs with their tracking rows, and finishes them with a `retentionSettingsChanged` event. */
export class RetentionRecomputes {
  constructor(private readonly deps: Pick<RetentionDeps, 'pool' | 'boss' | 'clock'>) {}

  /** In the caller's transaction: the tracking row, its version and its job commit together, or not at all. */
  async enqueue(client: pg.PoolClient, organizationId: string, module: RetentionModule): Promise<void> {
    const asOf = await tracking.nextVersion(client);
    const recomputeId = await tracking.insertRecompute(client, { organizationId, module, asOf, at: this.deps.clock.now() });
    const payload: RecomputeJob = { organizationId, module, recomputeId, asOf };
    const jobId = await enqueueInTransaction(this.deps.boss, client, RETENTION_RECOMPUTE_QUEUE, payload);
    await tracking.setRecomputeJob(client, recomputeId, jobId);
  }

  /** The job's last step: its row finished and the event sent in one transaction, so `recomputing` reads false. */
  async finish(job: RecomputeJob): Promise<void> {
    const { recomputeId, organizationId } = job;
    if (!recomputeId) return;
    await withTransaction(this.deps.pool, async (tx) => {
      const now = this.deps.clock.now();
      if (!(await tracking.finishRecompute(tx.q, recomputeId, organizationId, now))) return;
      await tracking.pruneRecomputes(tx.q, organizationId, now);
      await tx.q.query(eventNotifyQuery('retentionSettingsChanged', organizationId, { reason: 'RECOMPUTE_FINISHED' }));
    });
  }

  isRecomputing(organizationId: string): Promise<boolean> {
    return tracking.isRecomputing(this.deps.pool, organizationId, RETENTION_RECOMPUTE_QUEUE);
  }
}
