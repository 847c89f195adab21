import type pg from 'pg';
import type { DomainEvents } from '../../events/domain-events.ts';
import type { PgBoss } from 'pg-boss';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ActivityService } from '../activity/activity.service.ts';
import type { Viewer } from '../auth/auth.types.ts';
import type { NotificationService } from '../notifications/notification.service.ts';
import { addPeriod, RETENTION_MODULES, type RetentionModule, type RetentionPolicy, type RetentionPolicyInput } from './retention-dates.ts';
import * as records from './retention-records.repository.ts';
import { RetentionRecordControl } from './retention-records.service.ts';
import { RETENTION_RECOMPUTE_QUEUE, RetentionRecomputes, type RecomputeJob } from './retention-recompute.service.ts';
import { RetentionSettingsControl, validatedPolicy, type RetentionSettingsInput } from './retention-settings.service.ts';
import { RetentionSweeper, type SweepOptions, type SweepResult } from './retention-sweep.service.ts';
import * as repo from './retention.repository.ts';
import { runInTransaction } from './retention.repository.ts';

export { RETENTION_RECOMPUTE_QUEUE };
/** Records per recompute batch: one short transaction each, so no module is locked for long. */
export const RECOMPUTE_BATCH = 5_000;
const ANALYZE_AFTER_CHANGED = 10_000;

export interface RetentionDeps {
  pool: pg.Pool;
  clock: Clock;
  appSecret: string;
  boss: PgBoss;
  activity: ActivityService;
  notifications: NotificationService;
  log: Logger;
  /** Email and webhooks hear of sweeps and notices here (in the transaction that records them). */
  domainEvents?: DomainEvents;
}

/** Shown for a module whose policy was never set: off, with sensible values to start from. */
export const DEFAULT_POLICY: Omit<RetentionPolicy, 'module'> = {
  enabled: false,
  basis: 'CREATED_AT',
  retentionPeriod: { value: 1, unit: 'YEARS' },
  action: 'DELETE',
  actionPeriod: { value: 30, unit: 'DAYS' },
};

export interface SettingsView {
  enabled: boolean;
  /** A recompute or clearing of the organization's record dates is waiting or running. */
  recomputing: boolean;
  noticeDays: number;
  updatedAt: Date | null;
  updatedById: string | null;
  policies: repo.PolicyRow[];
}

export interface PreviewView {
  module: RetentionModule;
  activeRecords: number;
  expiredNow: number;
  actionDueNow: number;
  actionDueWithin30Days: number;
  deletionDueNow: number;
  deletionDueWithin30Days: number;
  customRecords: number;
}

/** Retention settings and policies, the preview, date recomputation; record control and the sweep delegated. */
export class RetentionService {
  readonly records: RetentionRecordControl;
  readonly recomputes: RetentionRecomputes;
  private readonly settings: RetentionSettingsControl;
  private readonly sweeper: RetentionSweeper;

  constructor(private readonly deps: RetentionDeps) {
    this.records = new RetentionRecordControl(deps);
    this.recomputes = new RetentionRecomputes(deps);
    this.settings = new RetentionSettingsControl(deps, this.recomputes);
    this.sweeper = new RetentionSweeper(deps);
  }

  async getSettings(organizationId: string): Promise<SettingsView> {
    const settings = await repo.findSettings(this.deps.pool, organizationId);
    const saved = await repo.findPolicies(this.deps.pool, organizationId);
    const policies = RETENTION_MODULES.map(
      (module) => saved.find((p) => p.module === module) ?? { module, ...DEFAULT_POLICY, updatedAt: null, updatedById: null },
    );
    return {
      enabled: settings?.enabled ?? false,
      recomputing: await this.recomputes.isRecomputing(organizationId),
      noticeDays: settings?.noticeDays ?? 7,
      updatedAt: settings?.updatedAt ?? null,
      updatedById: settings?.updatedById ?? null,
      policies,
    };
  }

  /** The organization switch. Off clears every record's dates, CUSTOM too (masked records stay masked); on recomputes them. */
  async setEnabled(viewer: Viewer, enabled: boolean): Promise<SettingsView> {
    await this.settings.setEnabled(viewer, enabled);
    return this.getSettings(viewer.organizationId);
  }

  async setNoticeDays(viewer: Viewer, days: number): Promise<SettingsView> {
    await this.settings.setNoticeDays(viewer, days);
    return this.getSettings(viewer.organizationId);
  }

  /** Validates, saves, records before/after, and recomputes the module's record dates (a job) when rules changed. */
  updatePolicy(viewer: Viewer, input: RetentionPolicyInput): Promise<repo.PolicyRow> {
    return this.settings.updatePolicy(viewer, input);
  }

  /** The switch and the policies at once, atomically (the settings form). */
  async saveSettings(viewer: Viewer, input: RetentionSettingsInput): Promise<SettingsView> {
    await this.settings.save(viewer, input);
    return this.getSettings(viewer.organizationId);
  }

  /** What `input` would do now and within 30 days, as the sweep would do it; changes nothing. */
  async preview(viewer: Viewer, input: RetentionPolicyInput): Promise<PreviewView> {
    const policy = validatedPolicy(input);
    const now = this.deps.clock.now();
    if (!policy.enabled) {
      // Nothing in force: no date but CUSTOM ones (kept while the organization switch is on), and no sweep.
      const c = await records.countUnmasked(this.deps.pool, policy.module, viewer.organizationId);
      return { module: policy.module, activeRecords: c.unmasked, ...ZERO_PREVIEW, customRecords: c.custom };
    }
    const until = addPeriod(now, { value: 30, unit: 'DAYS' });
    const timeZone = await repo.organizationTimeZone(this.deps.pool, viewer.organizationId);
    const c = await records.previewCounts(this.deps.pool, policy.module, viewer.organizationId, policy, { now, until, timeZone });
    const del = policy.action === 'DELETE';
    return {
      module: policy.module,
      activeRecords: c.activeRecords,
      expiredNow: del ? c.expireNow : 0,
      actionDueNow: del ? c.deleteNow : c.maskNow,
      actionDueWithin30Days: del ? c.deleteSoon : c.maskSoon,
      deletionDueNow: c.deleteNow,
      deletionDueWithin30Days: c.deleteSoon,
      customRecords: c.customRecords,
    };
  }

  /**
   * Brings every record of the module to the rules in force now, in keyset batches of short transactions (the
   * job's body; safe to run twice, and in any order with other recomputes, because each batch reads the rules).
   * `asOf`: the version the recompute was enqueued at; records changed by hand later are left alone.
   */
  async recompute(
    organizationId: string,
    module: RetentionModule,
    batchSize = RECOMPUTE_BATCH,
    asOf: number | null = null,
  ): Promise<{ scanned: number; changed: number }> {
    let after = records.FIRST_PAGE;
    const total = { scanned: 0, changed: 0 };
    for (;;) {
      const outcome = await runInTransaction(this.deps.pool, async (client) => {
        const effective = await repo.lockRules(client, organizationId, module);
        const target = { rules: repo.activePolicy(effective), clearCustom: !effective.orgEnabled, timeZone: effective.timeZone, asOf };
        return records.applyRules(client, module, organizationId, target, { after, limit: batchSize }, this.deps.clock.now());
      });
      total.scanned += outcome.scanned;
      total.changed += outcome.changed;
      if (outcome.scanned < batchSize) break;
      after = outcome.next;
    }
    // The sweep's plans rest on the statistics of these dates: after a large change (a policy set on years of
    // records makes most of them due at once) stale statistics would pick the date index and sort every due row
    // for each batch. ANALYZE samples the table (a fraction of a second) and blocks no reads or writes.
    if (total.changed >= ANALYZE_AFTER_CHANGED || (total.changed > 0 && total.changed * 10 >= total.scanned)) {
      await records.analyze(this.deps.pool, module);
    }
    this.deps.log.info({ organizationId, module, ...total }, 'retention dates recomputed');
    return total;
  }

  /** A recompute job: the dates, then its tracking row finished with a `retentionSettingsChanged` event. */
  async runRecomputeJob(job: RecomputeJob): Promise<void> {
    await this.recompute(job.organizationId, job.module, RECOMPUTE_BATCH, job.asOf ?? null);
    await this.recomputes.finish(job);
  }

  /** Both modules, now (after a bulk load: records inserted without the write hooks). */
  async recomputeAll(organizationId: string): Promise<void> {
    for (const module of RETENTION_MODULES) {
      const rules = repo.activePolicy(await repo.lockRules(this.deps.pool, organizationId, module));
      // Nothing in force and nothing to clear: skip reading the whole module.
      if (!rules && !(await records.hasRetentionData(this.deps.pool, module, organizationId))) continue;
      await this.recompute(organizationId, module);
    }
  }

  sweep(opts: SweepOptions = {}): Promise<SweepResult> {
    return this.sweeper.sweep(opts);
  }
}

const ZERO_PREVIEW = {
  expiredNow: 0,
  actionDueNow: 0,
  actionDueWithin30Days: 0,
  deletionDueNow: 0,
  deletionDueWithin30Days: 0,
};
