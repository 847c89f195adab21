import { AppError } from '../shared/app-error.ts';

interface Waiter {
  grant(): void;
  timer: NodeJS.Timeout;
}

interface Slots {
  active: number;
  waiting: Waiter[];
}

/**
 * A counting semaphore per organization: at most `capacity` holders at once for one organization, in this
 * process (N api processes allow N × capacity). A waiter gives up after `waitMs` with QUERY_TIMEOUT, so a tenant
 * that keeps every slot busy only ever queues behind itself.
 */
export class OrganizationSlots {
  private readonly byOrganization = new Map<string, Slots>();

  constructor(
    readonly capacity: number,
    private readonly waitMs: number,
  ) {}

  /** Resolves with the function that gives the slot back (call it exactly once). */
  acquire(organizationId: string): Promise<() => void> {
    const slots = this.slotsOf(organizationId);
    if (slots.active < this.capacity) {
      slots.active += 1;
      return Promise.resolve(this.releaser(organizationId, slots));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          resolve(this.releaser(organizationId, slots));
        },
        timer: setTimeout(() => {
          slots.waiting.splice(slots.waiting.indexOf(waiter), 1);
          this.forget(organizationId, slots);
          reject(busy(this.capacity, this.waitMs));
        }, this.waitMs),
      };
      slots.waiting.push(waiter);
    });
  }

  /** Slots an organization holds now (for metrics and the operator's eye). */
  inUse(organizationId: string): number {
    return this.byOrganization.get(organizationId)?.active ?? 0;
  }

  /** Operations of an organization queued for a slot. */
  waiting(organizationId: string): number {
    return this.byOrganization.get(organizationId)?.waiting.length ?? 0;
  }

  private slotsOf(organizationId: string): Slots {
    let slots = this.byOrganization.get(organizationId);
    if (!slots) {
      slots = { active: 0, waiting: [] };
      this.byOrganization.set(organizationId, slots);
    }
    return slots;
  }

  private releaser(organizationId: string, slots: Slots): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to the next waiter, so `active` only drops when nobody waits.
      const next = slots.waiting.shift();
      if (next) next.grant();
      else {
        slots.active -= 1;
        this.forget(organizationId, slots);
      }
    };
  }

  /** An idle organization leaves no entry behind: the map holds only organizations at work. */
  private forget(organizationId: string, slots: Slots): void {
    if (slots.active === 0 && slots.waiting.length === 0) this.byOrganization.delete(organizationId);
  }
}

function busy(capacity: number, waitMs: number): AppError {
  return new AppError(
    'QUERY_TIMEOUT',
    `Your organization already runs ${capacity} database operations at once on this server; waited ${waitMs} ms for one to end`,
  );
}
