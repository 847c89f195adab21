import type pg from 'pg';
import type { Db } from '../../db/client.ts';
import { badInput } from '../../shared/app-error.ts';
import { isUuid } from '../../shared/validation.ts';
import { findAdmins } from '../auth/auth.repository.ts';
import { MODULES } from '../crm/crm.modules.ts';
import type { NotificationRow } from '../notifications/notification.repository.ts';
import { PERSONAL_FIELDS } from './masking.ts';
import { addPeriod, RETENTION_MODULES, type RetentionModule } from './retention-dates.ts';
import { cursorAfter, FIRST_PAGE } from './retention-records.repository.ts';
import { vaultContext } from './retention-records.service.ts';
import * as sweepRepo from './retention-sweep.repository.ts';
import * as repo from './retention.repository.ts';
import { runInTransaction } from './retention.repository.ts';
import type { RetentionDeps } from './retention.service.ts';
import { nextBatchSize, SWEEP_BATCH } from './sweep-batch-size.ts';
import { createVaultCipher, type VaultCipher } from './vault-crypto.ts';

export interface SweepResult {
  expired: number;
  masked: number;
  deleted: number;
}

export type SweepPass = 'EXPIRE' | 'MASK' | 'DELETE';

/** One committed batch, for benchmarks and metrics: how long its transaction held the row locks. */
export interface SweepBatchReport {
  organizationId: string;
  module: RetentionModule;
  pass: SweepPass;
  count: number;
  lockMs: number;
}

export interface SweepOptions {
  /** Only this organization; default every organization with retention on. */
  organizationId?: string;
  /** Records per batch (one transaction each); default: sized by time, starting at SWEEP_BATCH (sweep-batch-size.ts). */
  batchSize?: number;
  onBatch?: (report: SweepBatchReport) => void;
}

const ANALYZE_AFTER = 10_000;
const PAST = { EXPIRE: 'expired', MASK: 'masked', DELETE: 'deleted' } as const;
export type Counts = Record<RetentionModule, SweepResult>;

/**
 * The sweep: at each record's retention date, EXPIRE (DELETE policies) or MASK it; at its deletion date,
 * DELETE it with a tombstone. "Now" is the service clock, read once per sweep.
 */
export class RetentionSweeper {
  private readonly cipher: VaultCipher;

  constructor(private readonly deps: RetentionDeps) {
    this.cipher = createVaultCipher(deps.appSecret);
  }

  async sweep(opts: SweepOptions = {}): Promise<SweepResult> {
    if (opts.organizationId !== undefined && !isUuid(opts.organizationId)) {
      throw badInput('organizationId', 'must be the id of an organization');
    }
    const now = this.deps.clock.now();
    const targets = await sweepRepo.findSweepTargets(this.deps.pool, opts.organizationId);
    const total: SweepResult = { expired: 0, masked: 0, deleted: 0 };
    const byOrg = new Map<string, Counts>();
    for (const target of targets) {
      const counts = byOrg.get(target.organizationId) ?? emptyCounts();
      byOrg.set(target.organizationId, counts);
      const passes: SweepPass[] = target.action === 'DELETE' ? ['EXPIRE', 'DELETE'] : ['MASK', 'DELETE'];
      for (const pass of passes) {
        const n = await this.runPass(target, pass, now, opts);
        counts[target.module][PAST[pass]] += n;
        total[PAST[pass]] += n;
        // A big MASK pass changes the module's states and fills the vault faster than autovacuum re-samples
        // them; with stale statistics (every record ACTIVE, an "empty" vault) the planner would choose the next
        // passes' batch plans for data that is no longer there.
        if (pass === 'MASK' && n >= ANALYZE_AFTER) await sweepRepo.analyzeAfterMasking(this.deps.pool, target.module);
      }
    }
    for (const [organizationId, counts] of byOrg) {
      await this.announceSwept(organizationId, counts);
      await this.notifySummary(organizationId, counts);
      await this.notifyUpcoming(organizationId, targets.filter((t) => t.organizationId === organizationId), now);
    }
    this.deps.log.info({ organizationId: opts.organizationId ?? null, ...total }, 'retention sweep done');
    return total;
  }

  /** One pass over a module, batch after batch, each its own short transaction. */
  private async runPass(target: sweepRepo.SweepTarget, pass: SweepPass, now: Date, opts: SweepOptions): Promise<number> {
    let limit = opts.batchSize ?? SWEEP_BATCH;
    let after = FIRST_PAGE;
    let done = 0;
    for (;;) {
      const started = performance.now();
      const processed = await runInTransaction(this.deps.pool, async (client, db) => {
        const rules = repo.activePolicy(await repo.lockRules(client, target.organizationId, target.module));
        // The policy changed since the sweep began: stop, the next sweep follows the new rules.
        if (!rules || (pass !== 'DELETE' && rules.action !== target.action)) return undefined;
        const rows = await this.runBatch(client, target, pass, { after, limit }, now);
        if (rows.length > 0) await this.recordBatch(db, target, pass, rows.length);
        return rows;
      });
      if (processed === undefined) break;
      const lockMs = performance.now() - started;
      if (processed.length > 0) {
        done += processed.length;
        opts.onBatch?.({ ...target, pass, count: processed.length, lockMs });
      }
      if (processed.length < limit) break;
      after = cursorAfter(processed);
      if (opts.batchSize === undefined) limit = nextBatchSize(limit, lockMs);
    }
    return done;
  }

  private async runBatch(
    client: pg.PoolClient,
    target: sweepRepo.SweepTarget,
    pass: SweepPass,
    page: sweepRepo.Page,
    now: Date,
  ): Promise<sweepRepo.Processed[]> {
    const { organizationId, module } = target;
    if (pass === 'EXPIRE') return sweepRepo.expireBatch(client, module, organizationId, page, now);
    if (pass === 'DELETE') {
      const reason = `retention ${target.action === 'MASK' ? 'masking period ended' : 'period ended'}`;
      return sweepRepo.deleteBatch(client, module, organizationId, page, now, reason);
    }
    return this.maskBatch(client, target, page, now);
  }

  /** Locks the next records due, rewrites them masked, and keeps their originals encrypted in the vault. */
  private async maskBatch(
    client: pg.PoolClient,
    { organizationId, module }: sweepRepo.SweepTarget,
    page: sweepRepo.Page,
    now: Date,
  ): Promise<sweepRepo.Processed[]> {
    const rows = await sweepRepo.lockMaskBatch(client, module, organizationId, page, now);
    if (rows.length === 0) return [];
    // The originals are in hand: PostgreSQL rewrites the rows while this process encrypts (2 cores, both busy).
    // The query's failure is kept as a value, so it is neither unhandled nor lost while encryption runs.
    const masking = sweepRepo.maskRows(client, module, organizationId, rows.map((r) => r.rowId), now).then(
      // Every locked row is rewritten, or the batch rolls back: a vault entry must never stand beside an unmasked row.
      (n) => (n === rows.length ? undefined : new Error(`masked ${n} of ${rows.length} locked ${MODULES[module].table} rows`)),
      (error: unknown) => error,
    );
    let entries: { recordId: string; ciphertext: Buffer }[];
    try {
      entries = rows.map((row) => ({ recordId: row.id, ciphertext: this.encryptOriginals(organizationId, module, row) }));
    } catch (error) {
      await masking; // the transaction rolls back; the encryption failure is the one to report
      throw error;
    }
    const maskingError = await masking;
    if (maskingError !== undefined) throw maskingError;
    await sweepRepo.insertVaultEntries(client, organizationId, module, entries, now);
    return rows;
  }

  private encryptOriginals(organizationId: string, module: RetentionModule, row: sweepRepo.PersonalValues): Buffer {
    const originals = Object.fromEntries(PERSONAL_FIELDS[module].map((f) => [f, row[f] ?? null]));
    return this.cipher.encrypt(JSON.stringify(originals), vaultContext(organizationId, module, row.id));
  }

  /** One activity event per batch: counts only, never personal data. */
  private async recordBatch(db: Db, target: sweepRepo.SweepTarget, pass: SweepPass, count: number): Promise<void> {
    const noun = MODULES[target.module].table;
    await this.deps.activity.record(
      {
        organizationId: target.organizationId,
        kind: 'retention.sweep_batch',
        summary: `Retention sweep ${PAST[pass]} ${count} ${noun}`,
        subjectType: 'RETENTION_POLICY',
        subjectId: target.module,
        data: { module: target.module, pass, count },
      },
      db,
    );
  }

  /** `retention.swept` for email and webhooks, when the sweep changed anything in the organization. */
  private async announceSwept(organizationId: string, counts: Counts): Promise<void> {
    const { domainEvents } = this.deps;
    const sum = (k: keyof SweepResult) => RETENTION_MODULES.reduce((n, m) => n + counts[m][k], 0);
    const totals = { expired: sum('expired'), masked: sum('masked'), deleted: sum('deleted') };
    if (!domainEvents || totals.expired + totals.masked + totals.deleted === 0) return;
    await runInTransaction(this.deps.pool, (client) => domainEvents.emit(client, { type: 'retention.swept', organizationId, ...totals }));
  }

  /** Tells the organization's admins what this sweep masked and deleted (nothing to say: no notification). */
  private async notifySummary(organizationId: string, counts: Counts): Promise<void> {
    const parts = describeCounts(counts, ['masked', 'deleted']);
    if (parts.length === 0) return;
    const masked = counts.LEADS.masked + counts.CONTACTS.masked;
    const deleted = counts.LEADS.deleted + counts.CONTACTS.deleted;
    await this.notifyAdmins(organizationId, {
      kind: 'retention.summary',
      title: `Retention: ${masked} records masked, ${deleted} deleted`,
      body: `${parts.join('; ')}.`,
    });
  }

  /**
   * The advance notice: records due to be masked or deleted within `noticeDays`. The window ends at the end of a
   * UTC day and is claimed in the settings row, so each due day is announced once, by one sweep.
   */
  private async notifyUpcoming(organizationId: string, targets: sweepRepo.SweepTarget[], now: Date): Promise<void> {
    const settings = await repo.findSettings(this.deps.pool, organizationId);
    if (!settings || settings.noticeDays === 0) return;
    const horizon = noticeHorizon(now, settings.noticeDays);
    let rows: NotificationRow[] = [];
    await runInTransaction(this.deps.pool, async (client, db) => {
      const claim = await sweepRepo.claimNoticeWindow(client, organizationId, horizon);
      if (!claim) return;
      const from = claim.previous && claim.previous > now ? claim.previous : now;
      const counts = emptyCounts();
      for (const t of targets) {
        const due = await sweepRepo.countDueBetween(client, t.module, organizationId, t.action, from, horizon);
        counts[t.module].masked = due.mask;
        counts[t.module].deleted = due.delete;
      }
      const parts = describeCounts(counts, ['masked', 'deleted'], 'to be ');
      if (parts.length === 0) return;
      const n = RETENTION_MODULES.reduce((sum, m) => sum + counts[m].masked + counts[m].deleted, 0);
      const last = new Date(horizon.getTime() - 1).toISOString().slice(0, 10);
      const notice = {
        kind: 'retention.notice',
        title: `Retention: ${n} records due within ${settings.noticeDays} days`,
        body: `Due by the end of ${last} (UTC): ${parts.join('; ')}.`,
      };
      rows = await this.createForAdmins(db, organizationId, notice);
      await this.deps.domainEvents?.emit(client, { type: 'retention.notice', organizationId, title: notice.title, body: notice.body });
    });
    this.deps.notifications.publish(rows);
  }

  private async notifyAdmins(organizationId: string, message: { kind: string; title: string; body: string }): Promise<void> {
    const rows = await runInTransaction(this.deps.pool, (_client, db) => this.createForAdmins(db, organizationId, message));
    this.deps.notifications.publish(rows);
  }

  private async createForAdmins(
    db: Db,
    organizationId: string,
    message: { kind: string; title: string; body: string },
  ): Promise<NotificationRow[]> {
    const admins = await findAdmins(db, organizationId);
    return this.deps.notifications.create(
      admins.map((a) => a.id),
      { organizationId, ...message },
      db,
    );
  }
}

/**
 * Where the advance notice window ends: the end of the UTC day `noticeDays` days after `now`'s day. Every sweep
 * of one day computes the same horizon, so a day's notice is claimed (and sent) once.
 */
export function noticeHorizon(now: Date, noticeDays: number): Date {
  return addPeriod(startOfUtcDay(now), { value: noticeDays + 1, unit: 'DAYS' });
}

function emptyCounts(): Counts {
  return { LEADS: { expired: 0, masked: 0, deleted: 0 }, CONTACTS: { expired: 0, masked: 0, deleted: 0 } };
}

/** "contacts: 120 masked, 3 deleted; leads: 4 deleted" (modules and actions with a count only). */
export function describeCounts(counts: Counts, keys: (keyof SweepResult)[], prefix = ''): string[] {
  return RETENTION_MODULES.flatMap((module) => {
    const items = keys.filter((k) => counts[module][k] > 0).map((k) => `${counts[module][k]} ${prefix}${k}`);
    return items.length > 0 ? [`${MODULES[module].table}: ${items.join(', ')}`] : [];
  });
}

function startOfUtcDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}
