import type pg from 'pg';
import { subjectTypeOfModule } from '../activity/activity-subjects.ts';
import { AppError, badInput, forbidden, notFound } from '../../shared/app-error.ts';
import { isUuid } from '../../shared/validation.ts';
import type { Viewer } from '../auth/auth.types.ts';
import { isRetentionModule, MODULES, type CrmModuleName, type CrmRecord, type ModuleSpec } from '../crm/crm.modules.ts';
import type { RecordWriteHooks } from '../crm/crm.service.ts';
import { PERSONAL_FIELDS, type PersonalField } from './masking.ts';
import { addPeriod, type RetentionModule } from './retention-dates.ts';
import * as records from './retention-records.repository.ts';
import { maskedRecordAdminOnly, recordOnLegalHold, retentionOff } from './retention.errors.ts';
import * as repo from './retention.repository.ts';
import { runInTransaction } from './retention.repository.ts';
import type { RetentionDeps } from './retention.service.ts';
import { createVaultCipher, type VaultCipher } from './vault-crypto.ts';

/** How far ahead a retention date may be (API.md §6 "Rules"): beyond any retention need, for anyone. */
const MAX_RETENTION_AHEAD = { value: 100, unit: 'YEARS' } as const;

/** What `vaultContext` binds a vault entry to: it only decrypts for the record it was written for. */
export function vaultContext(organizationId: string, module: RetentionModule, recordId: string): string {
  return `${organizationId}/${module}/${recordId}`;
}

/** Per-record control: the retention date, legal holds, and the write hooks crm runs on every record write. */
export class RetentionRecordControl {
  private readonly cipher: VaultCipher;

  constructor(private readonly deps: RetentionDeps) {
    this.cipher = createVaultCipher(deps.appSecret);
  }

  /**
   * Owner or ADMIN on ACTIVE/EXPIRED records, ADMIN only on MASKED ones. The date becomes the record's own
   * (CUSTOM: kept by recomputes and policy changes). The deletion date moves with it; a future date makes an
   * EXPIRED record ACTIVE again and unmasks a MASKED one from the vault.
   */
  async updateRecordRetention(viewer: Viewer, module: CrmModuleName, id: string, retentionEndsAt: Date): Promise<records.RecordRetentionRow> {
    const target = checkTarget(module, id);
    const latest = addPeriod(this.deps.clock.now(), MAX_RETENTION_AHEAD);
    if (Number.isNaN(retentionEndsAt.getTime()) || retentionEndsAt.getTime() > latest.getTime()) {
      throw badInput('retentionEndsAt', 'must be a date at most 100 years ahead');
    }
    return this.changeDates(viewer, target, id, async (client, policy, timeZone) => {
      checkWithinPolicy(viewer, target, policy, retentionEndsAt, this.deps.clock.now());
      const deletesAt = await records.plusPeriodInZone(client, retentionEndsAt, policy.actionPeriod, timeZone);
      return { retentionEndsAt, deletesAt, source: 'CUSTOM' };
    });
  }

  /** Back to the date the policy gives the record (source POLICY), with the same rights and effects as a change. */
  resetRecordRetention(viewer: Viewer, module: CrmModuleName, id: string): Promise<records.RecordRetentionRow> {
    const target = checkTarget(module, id);
    return this.changeDates(viewer, target, id, async (client, policy, timeZone) => ({
      ...(await records.policyDatesOf(client, target, viewer.organizationId, id, policy, timeZone)),
      source: 'POLICY',
    }));
  }

  /** One hand change of a record's dates: rights, the policy in force, unmasking, activity; one transaction. */
  private changeDates(
    viewer: Viewer,
    target: RetentionModule,
    id: string,
    datesFor: (client: pg.PoolClient, policy: repo.PolicyRow, timeZone: string) => Promise<records.RetentionChange>,
  ): Promise<records.RecordRetentionRow> {
    return runInTransaction(this.deps.pool, async (client, db) => {
      const rules = await repo.lockRules(client, viewer.organizationId, target);
      const current = await records.findRecordRetention(client, target, viewer.organizationId, id, true);
      if (!current) throw notFound(MODULES[target].noun);
      checkMayChange(viewer, target, current);
      const policy = repo.activePolicy(rules);
      if (!policy) throw retentionOff(target);
      const change = await datesFor(client, policy, rules.timeZone);
      const future = change.retentionEndsAt.getTime() > this.deps.clock.now().getTime();
      const unmask = future && current.retentionState === 'MASKED';
      const updated = unmask
        ? await this.unmask(client, viewer.organizationId, target, id, change)
        : await records.setRecordRetention(client, target, viewer.organizationId, id, {
            ...change,
            state: future && current.retentionState === 'EXPIRED' ? 'ACTIVE' : current.retentionState,
          });
      const what = change.source === 'POLICY' ? 'Reset the retention date of a' : 'Changed the retention date of a';
      await this.deps.activity.record(
        {
          organizationId: viewer.organizationId,
          kind: unmask ? 'retention.record_unmasked' : change.source === 'POLICY' ? 'retention.record_date_reset' : 'retention.record_date_changed',
          actorId: viewer.userId,
          summary: `${unmask ? 'Unmasked a' : what} ${MODULES[target].noun}`,
          subjectType: subjectTypeOfModule(target),
          subjectId: id,
          data: { before: retentionData(current), after: retentionData(updated) },
        },
        db,
      );
      return updated;
    });
  }

  async setLegalHold(viewer: Viewer, module: CrmModuleName, id: string, hold: boolean): Promise<records.RecordRetentionRow> {
    const target = checkTarget(module, id);
    return runInTransaction(this.deps.pool, async (client, db) => {
      const current = await records.findRecordRetention(client, target, viewer.organizationId, id, true);
      if (!current) throw notFound(MODULES[target].noun);
      if (current.legalHold === hold) return current;
      const updated = (await records.setLegalHold(client, target, viewer.organizationId, id, hold))!;
      await this.deps.activity.record(
        {
          organizationId: viewer.organizationId,
          kind: 'retention.legal_hold_changed',
          actorId: viewer.userId,
          summary: `Legal hold ${hold ? 'placed on' : 'lifted from'} a ${MODULES[target].noun}`,
          subjectType: subjectTypeOfModule(target),
          subjectId: id,
          data: { before: { legalHold: current.legalHold }, after: { legalHold: hold } },
        },
        db,
      );
      return updated;
    });
  }

  /** The hooks crm runs inside each record write's transaction. */
  hooks(): RecordWriteHooks {
    return {
      beforeUpdate: async (_client, viewer, spec, record) => {
        if (!spec.retention || viewer.role === 'ADMIN') return;
        // The hold first: for a held record it is the reason, whatever else is true of it.
        if (record.legalHold) throw recordOnLegalHold(spec.noun, 'change');
        if (record.retentionState === 'MASKED') throw maskedRecordAdminOnly(spec.noun);
      },
      beforeDelete: async (_client, _viewer, spec, record) => {
        if (spec.retention && record.legalHold) throw recordOnLegalHold(spec.noun, 'delete');
      },
      afterWrite: (client, spec, record) => this.afterWrite(client, spec, record),
    };
  }

  /**
   * Dates on insert (any basis, or whenever a record has none yet) and on every update under UPDATED_AT.
   * Masked records keep their dates: only an explicit retention change unmasks.
   */
  private async afterWrite(client: pg.PoolClient, spec: ModuleSpec, record: CrmRecord): Promise<CrmRecord> {
    if (!spec.retention || !isRetentionModule(spec.module) || record.retentionState === 'MASKED') return record;
    const effective = await repo.lockRules(client, record.organizationId, spec.module);
    const policy = repo.activePolicy(effective);
    if (!policy) return record;
    if (policy.basis === 'CREATED_AT' && record.retentionEndsAt) return record;
    const target = { rules: policy, clearCustom: false, timeZone: effective.timeZone };
    await records.applyRules(client, spec.module, record.organizationId, target, { id: record.id }, this.deps.clock.now());
    const fresh = await records.findRecordRetention(client, spec.module, record.organizationId, record.id);
    return fresh ? { ...record, ...fresh } : record;
  }

  private async unmask(
    client: pg.PoolClient,
    organizationId: string,
    module: RetentionModule,
    id: string,
    change: records.RetentionChange,
  ): Promise<records.RecordRetentionRow> {
    const blob = await records.findVaultEntry(client, organizationId, module, id);
    if (!blob) {
      // Nothing to restore from: keep the record masked rather than call masked values the originals.
      throw new AppError(
        'RECORD_NOT_UNMASKABLE',
        'The vault holds no originals for this record (restored records come back masked); it stays masked',
      );
    }
    const plain = this.cipher.decrypt(blob, vaultContext(organizationId, module, id)).toString('utf8');
    const originals = pickPersonal(module, JSON.parse(plain) as Record<string, unknown>);
    const restored = await records.restoreMaskedRecord(client, module, organizationId, id, originals, change);
    await records.deleteVaultEntry(client, organizationId, module, id);
    return restored;
  }
}

function checkTarget(module: CrmModuleName, id: string): RetentionModule {
  if (!isRetentionModule(module)) throw badInput('module', 'must be LEADS or CONTACTS (the modules with retention)');
  if (!isUuid(id)) throw notFound(MODULES[module].noun);
  return module;
}

function checkMayChange(viewer: Viewer, module: RetentionModule, current: records.RecordRetentionRow): void {
  if (viewer.role === 'ADMIN') return;
  if (current.legalHold) throw recordOnLegalHold(MODULES[module].noun, 'change');
  if (current.retentionState === 'MASKED') throw maskedRecordAdminOnly(MODULES[module].noun);
  if (current.ownerId !== viewer.userId) {
    throw forbidden(`Only the ${MODULES[module].noun}'s owner or an admin may change its retention date`);
  }
}

/**
 * A STANDARD user may not keep a record longer than the policy would (API.md §6 "Rules"). The policy's date is
 * the one it gives a record today (now + retention period), not the record's own basis + period: the owner must
 * still be able to rescue an EXPIRED record in its grace period (DESIGN.md), which is always past the latter.
 * FORBIDDEN rather than BAD_USER_INPUT: the same date is valid from an ADMIN, so it is the role that is refused.
 */
function checkWithinPolicy(viewer: Viewer, module: RetentionModule, policy: repo.PolicyRow, retentionEndsAt: Date, now: Date): void {
  if (viewer.role === 'ADMIN') return;
  const policyDate = addPeriod(now, policy.retentionPeriod);
  if (retentionEndsAt.getTime() > policyDate.getTime()) {
    throw forbidden(
      `Only an admin may keep a ${MODULES[module].noun} beyond its policy's retention date (${policyDate.toISOString()})`,
    );
  }
}

function retentionData(r: records.RecordRetentionRow): Record<string, unknown> {
  return {
    state: r.retentionState,
    source: r.retentionSource,
    retentionEndsAt: r.retentionEndsAt?.toISOString() ?? null,
    deletesAt: r.deletesAt?.toISOString() ?? null,
  };
}

/** Only the module's personal fields, as strings or null, whatever else the decrypted JSON holds. */
function pickPersonal(module: RetentionModule, data: Record<string, unknown>): Partial<Record<PersonalField, string | null>> {
  const out: Partial<Record<PersonalField, string | null>> = {};
  for (const field of PERSONAL_FIELDS[module]) {
    const value = data[field];
    out[field] = typeof value === 'string' ? value : null;
  }
  return out;
}
