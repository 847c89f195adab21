import type pg from 'pg';
import type { DomainEvents } from '../../events/domain-events.ts';
import type { PgBoss } from 'pg-boss';
import { enqueueInTransaction } from '../../jobs/job-enqueue.ts';
import { badInput } from '../../shared/app-error.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ActivityService } from '../activity/activity.service.ts';
import type { Viewer } from '../auth/auth.types.ts';
import type { NotificationService } from '../notifications/notification.service.ts';
import {
  addPeriod,
  RETENTION_MODULES,
  validatePolicyInput,
  type RetentionModule,
  type RetentionPolicy,
  type RetentionPolicyInput,
} from './retention-dates.ts';
import * as records from './retention-records.repository.ts';
import { RetentionRecordControl } from './retention-records.service.ts';
import { RetentionSweeper, type SweepOptions, type SweepResult } from './retention-sweep.service.ts';
import * as repo from './retention.repository.ts';
import { runInTransaction } from './retention.repository.ts';

export const RETENTION_RECOMPUTE_QUEUE = 'retention-recompute';
/** Records per recompute batch: one short transaction each, so no module is locked for long. */
export const RECOMPUTE_BATCH = 5_000;
const MAX_NOTICE_DAYS = 90;
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
}

/** Retention settings and policies, the preview, date recomputation; record control and the sweep delegated. */
export class RetentionService {
  readonly records: RetentionRecordControl;
  private readonly sweeper: RetentionSweeper;

  constructor(private readonly deps: RetentionDeps) {
    this.records = new RetentionRecordControl(deps);
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
      noticeDays: settings?.noticeDays ?? 7,
      updatedAt: settings?.updatedAt ?? null,
      updatedById: settings?.updatedById ?? null,
      policies,
    };
  }

  /** The organization switch. Off clears every record's dates (masked records stay masked); on recomputes them. */
  async setEnabled(viewer: Viewer, enabled: boolean): Promise<SettingsView> {
    await runInTransaction(this.deps.pool, async (client, db) => {
      const before = await repo.lockSettingsForChange(client, viewer.organizationId);
      if (before.enabled === enabled) return;
      await repo.updateSettings(client, viewer.organizationId, { enabled }, this.by(viewer));
      await this.deps.activity.record(
        {
          organizationId: viewer.organizationId,
          kind: 'retention.settings_changed',
          actorId: viewer.userId,
          summary: `Retention turned ${enabled ? 'on' : 'off'}`,
          subjectType: 'RETENTION_SETTINGS',
          subjectId: viewer.organizationId,
          data: { before: { enabled: before.enabled }, after: { enabled } },
        },
        db,
      );
      for (const module of RETENTION_MODULES) await this.enqueueRecompute(client, viewer.organizationId, module);
    });
    return this.getSettings(viewer.organizationId);
  }

  async setNoticeDays(viewer: Viewer, days: number): Promise<SettingsView> {
    if (!Number.isInteger(days) || days < 0 || days > MAX_NOTICE_DAYS) {
      throw badInput('days', `must be an integer between 0 and ${MAX_NOTICE_DAYS}`);
    }
    await runInTransaction(this.deps.pool, async (client, db) => {
      const before = await repo.lockSettingsForChange(client, viewer.organizationId);
      if (before.noticeDays === days) return;
      await repo.updateSettings(client, viewer.organizationId, { noticeDays: days }, this.by(viewer));
      await this.deps.activity.record(
        {
          organizationId: viewer.organizationId,
          kind: 'retention.settings_changed',
          actorId: viewer.userId,
          summary: `Retention notice period set to ${days} days`,
          subjectType: 'RETENTION_SETTINGS',
          subjectId: viewer.organizationId,
          data: { before: { noticeDays: before.noticeDays }, after: { noticeDays: days } },
        },
        db,
      );
    });
    return this.getSettings(viewer.organizationId);
  }

  /** Validates, saves, records before/after, and recomputes the module's record dates (a job) when rules changed. */
  async updatePolicy(viewer: Viewer, input: RetentionPolicyInput): Promise<repo.PolicyRow> {
    const policy = validatedPolicy(input);
    return runInTransaction(this.deps.pool, async (client, db) => {
      const settings = await repo.lockSettingsForChange(client, viewer.organizationId);
      const before = (await repo.findPolicies(client, viewer.organizationId)).find((p) => p.module === policy.module);
      if (before && samePolicy(before, policy)) return before;
      const saved = await repo.upsertPolicy(client, viewer.organizationId, policy, this.by(viewer));
      await this.deps.activity.record(
        {
          organizationId: viewer.organizationId,
          kind: 'retention.policy_changed',
          actorId: viewer.userId,
          summary: `Retention policy of ${policy.module} changed`,
          subjectType: 'RETENTION_POLICY',
          subjectId: policy.module,
          data: { module: policy.module, before: before ? policyData(before) : null, after: policyData(policy) },
        },
        db,
      );
      // With the switch off every date is already cleared, and turning it on recomputes.
      if (settings.enabled) await this.enqueueRecompute(client, viewer.organizationId, policy.module);
      return saved;
    });
  }

  /** What `input` would do now and within 30 days, as the sweep would do it; changes nothing. */
  async preview(viewer: Viewer, input: RetentionPolicyInput): Promise<PreviewView> {
    const policy = validatedPolicy(input);
    const now = this.deps.clock.now();
    if (!policy.enabled) {
      const activeRecords = await records.countUnmasked(this.deps.pool, policy.module, viewer.organizationId);
      return { module: policy.module, activeRecords, ...ZERO_PREVIEW };
    }
    const until = addPeriod(now, { value: 30, unit: 'DAYS' });
    const c = await records.previewCounts(this.deps.pool, policy.module, viewer.organizationId, policy, now, until);
    const del = policy.action === 'DELETE';
    return {
      module: policy.module,
      activeRecords: c.activeRecords,
      expiredNow: del ? c.expireNow : 0,
      actionDueNow: del ? c.deleteNow : c.maskNow,
      actionDueWithin30Days: del ? c.deleteSoon : c.maskSoon,
      deletionDueNow: c.deleteNow,
      deletionDueWithin30Days: c.deleteSoon,
    };
  }

  /**
   * Brings every record of the module to the rules in force now, in keyset batches of short transactions (the
   * job's body; safe to run twice, and in any order with other recomputes, because each batch reads the rules).
   */
  async recompute(organizationId: string, module: RetentionModule, batchSize = RECOMPUTE_BATCH): Promise<{ scanned: number; changed: number }> {
    let after = records.FIRST_PAGE;
    const total = { scanned: 0, changed: 0 };
    for (;;) {
      const outcome = await runInTransaction(this.deps.pool, async (client) => {
        const rules = repo.activePolicy(await repo.lockRules(client, organizationId, module));
        return records.applyRules(client, module, organizationId, rules, { after, limit: batchSize }, this.deps.clock.now());
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

  private async enqueueRecompute(client: pg.PoolClient, organizationId: string, module: RetentionModule): Promise<void> {
    await enqueueInTransaction(this.deps.boss, client, RETENTION_RECOMPUTE_QUEUE, { organizationId, module });
  }

  private by(viewer: Viewer): { at: Date; userId: string } {
    return { at: this.deps.clock.now(), userId: viewer.userId };
  }
}

const ZERO_PREVIEW = {
  expiredNow: 0,
  actionDueNow: 0,
  actionDueWithin30Days: 0,
  deletionDueNow: 0,
  deletionDueWithin30Days: 0,
};

function validatedPolicy(input: RetentionPolicyInput): RetentionPolicy {
  const result = validatePolicyInput(input);
  if (!result.ok) throw badInput(result.field, result.rule);
  return result.policy;
}

/** The policy as it goes into the activity stream: rules only, no personal data. */
function policyData(p: RetentionPolicy): Record<string, unknown> {
  return {
    enabled: p.enabled,
    basis: p.basis,
    retentionPeriod: { ...p.retentionPeriod },
    action: p.action,
    actionPeriod: { ...p.actionPeriod },
  };
}

function samePolicy(a: RetentionPolicy, b: RetentionPolicy): boolean {
  return JSON.stringify(policyData(a)) === JSON.stringify(policyData(b));
}
