import type pg from 'pg';
import type { Db } from '../../db/client.ts';
import { eventNotifyQuery } from '../../events/event-topics.ts';
import { badInput } from '../../shared/app-error.ts';
import type { Viewer } from '../auth/auth.types.ts';
import {
  RETENTION_MODULES,
  validatePolicyInput,
  type RetentionModule,
  type RetentionPolicy,
  type RetentionPolicyInput,
} from './retention-dates.ts';
import type { RetentionRecomputes } from './retention-recompute.service.ts';
import * as repo from './retention.repository.ts';
import { runInTransaction } from './retention.repository.ts';
import type { RetentionDeps } from './retention.service.ts';

const MAX_NOTICE_DAYS = 90;

/** A change of the settings: any of the switch, the notice period and policies (validated). */
export interface SettingsChange {
  enabled?: boolean;
  noticeDays?: number;
  policies?: RetentionPolicy[];
}

/** What a client sends to `saveRetentionSettings`; nothing is trusted yet. */
export interface RetentionSettingsInput {
  enabled: boolean;
  policies: RetentionPolicyInput[];
}

/**
 * Every change of retention settings goes through `apply`: one transaction that locks the settings row (record
 * writes wait, see `lockRules`), writes what differs, records activity with before/after, enqueues the recomputes
 * and sends `retentionSettingsChanged` — all of it committed together, or none.
 */
export class RetentionSettingsControl {
  constructor(
    private readonly deps: RetentionDeps,
    private readonly recomputes: RetentionRecomputes,
  ) {}

  setEnabled(viewer: Viewer, enabled: boolean): Promise<void> {
    return this.apply(viewer, { enabled });
  }

  setNoticeDays(viewer: Viewer, days: number): Promise<void> {
    if (!Number.isInteger(days) || days < 0 || days > MAX_NOTICE_DAYS) {
      throw badInput('days', `must be an integer between 0 and ${MAX_NOTICE_DAYS}`);
    }
    return this.apply(viewer, { noticeDays: days });
  }

  async updatePolicy(viewer: Viewer, input: RetentionPolicyInput): Promise<repo.PolicyRow> {
    const policy = validatedPolicy(input);
    await this.apply(viewer, { policies: [policy] });
    return (await repo.findPolicies(this.deps.pool, viewer.organizationId)).find((p) => p.module === policy.module)!;
  }

  /** The settings form: the switch and the policies, validated first (nothing is saved when any is bad). */
  save(viewer: Viewer, input: RetentionSettingsInput): Promise<void> {
    if (typeof input.enabled !== 'boolean') throw badInput('enabled', 'must be true or false');
    if (!Array.isArray(input.policies) || input.policies.length > RETENTION_MODULES.length) {
      throw badInput('policies', `must list at most ${RETENTION_MODULES.length} policies, one per module`);
    }
    const policies = input.policies.map((p, i) => validatedPolicy(p, `policies[${i}]`));
    const seen = new Set<RetentionModule>();
    policies.forEach((p, i) => {
      if (seen.has(p.module)) throw badInput(`policies[${i}].module`, `names ${p.module} twice: one policy per module`);
      seen.add(p.module);
    });
    return this.apply(viewer, { enabled: input.enabled, policies });
  }

  private async apply(viewer: Viewer, change: SettingsChange): Promise<void> {
    const organizationId = viewer.organizationId;
    await runInTransaction(this.deps.pool, async (client, db) => {
      const before = await repo.lockSettingsForChange(client, organizationId);
      const by = { at: this.deps.clock.now(), userId: viewer.userId };
      const enabledChanged = change.enabled !== undefined && change.enabled !== before.enabled;
      const noticeChanged = change.noticeDays !== undefined && change.noticeDays !== before.noticeDays;
      if (enabledChanged || noticeChanged) {
        await repo.updateSettings(
          client,
          organizationId,
          { enabled: enabledChanged ? change.enabled : undefined, noticeDays: noticeChanged ? change.noticeDays : undefined },
          by,
        );
      }
      if (enabledChanged) await this.recordSwitch(db, viewer, before.enabled, change.enabled!);
      if (noticeChanged) await this.recordNotice(db, viewer, before.noticeDays, change.noticeDays!);
      const changedModules = await this.savePolicies(client, db, viewer, change.policies ?? [], by);
      const enabledNow = change.enabled ?? before.enabled;
      // Switch flipped: every module recomputes (or clears). Otherwise only changed policies, and only when on
      // (with the switch off every date is already cleared, and turning it on recomputes).
      const toRecompute = enabledChanged ? RETENTION_MODULES : enabledNow ? changedModules : [];
      for (const module of toRecompute) await this.recomputes.enqueue(client, organizationId, module);
      if (enabledChanged || noticeChanged || changedModules.length > 0) {
        await client.query(eventNotifyQuery('retentionSettingsChanged', organizationId, { reason: 'SETTINGS' }));
      }
    });
  }

  /** Saves the policies that differ from the stored ones; returns their modules. */
  private async savePolicies(
    client: pg.PoolClient,
    db: Db,
    viewer: Viewer,
    policies: RetentionPolicy[],
    by: { at: Date; userId: string },
  ): Promise<RetentionModule[]> {
    if (policies.length === 0) return [];
    const stored = await repo.findPolicies(client, viewer.organizationId);
    const changed: RetentionModule[] = [];
    for (const policy of policies) {
      const before = stored.find((p) => p.module === policy.module);
      if (before && samePolicy(before, policy)) continue;
      await repo.upsertPolicy(client, viewer.organizationId, policy, by);
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
      changed.push(policy.module);
    }
    return changed;
  }

  private recordSwitch(db: Db, viewer: Viewer, before: boolean, after: boolean): Promise<unknown> {
    return this.deps.activity.record(
      {
        organizationId: viewer.organizationId,
        kind: 'retention.settings_changed',
        actorId: viewer.userId,
        summary: `Retention turned ${after ? 'on' : 'off'}`,
        subjectType: 'RETENTION_SETTINGS',
        subjectId: viewer.organizationId,
        data: { before: { enabled: before }, after: { enabled: after } },
      },
      db,
    );
  }

  private recordNotice(db: Db, viewer: Viewer, before: number, after: number): Promise<unknown> {
    return this.deps.activity.record(
      {
        organizationId: viewer.organizationId,
        kind: 'retention.settings_changed',
        actorId: viewer.userId,
        summary: `Retention notice period set to ${after} days`,
        subjectType: 'RETENTION_SETTINGS',
        subjectId: viewer.organizationId,
        data: { before: { noticeDays: before }, after: { noticeDays: after } },
      },
      db,
    );
  }
}

/** The validated policy, or BAD_USER_INPUT naming the field under `path` (e.g. `policies[1].action`). */
export function validatedPolicy(input: RetentionPolicyInput, path?: string): RetentionPolicy {
  const result = validatePolicyInput(input);
  if (!result.ok) throw badInput(path ? `${path}.${result.field}` : result.field, result.rule);
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
