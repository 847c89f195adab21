import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OrganizationSlots } from '../../src/db/organization-slots.ts';
import { AppError } from '../../src/shared/app-error.ts';

describe('OrganizationSlots', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('lets an organization hold at most `capacity` slots, and others their own', async () => {
    const slots = new OrganizationSlots(2, 1_000);
    const a1 = await slots.acquire('a');
    await slots.acquire('a');
    let third: (() => void) | undefined;
    void slots.acquire('a').then((release) => (third = release));
    const b = await slots.acquire('b'); // another organization is not queued behind a
    expect(slots.inUse('a')).toBe(2);
    expect(slots.waiting('a')).toBe(1);
    expect(slots.inUse('b')).toBe(1);
    a1();
    await vi.advanceTimersByTimeAsync(0);
    expect(third).toBeTypeOf('function'); // the freed slot went straight to the waiter
    expect(slots.inUse('a')).toBe(2);
    b();
    expect(slots.inUse('b')).toBe(0);
  });

  it('hands slots out in arrival order and ignores a second release', async () => {
    const slots = new OrganizationSlots(1, 1_000);
    const first = await slots.acquire('a');
    const order: number[] = [];
    const second = slots.acquire('a').then((r) => (order.push(2), r));
    const third = slots.acquire('a').then((r) => (order.push(3), r));
    first();
    first(); // must not free a second slot
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual([2]);
    (await second)();
    (await third)();
    expect(order).toEqual([2, 3]);
    expect(slots.inUse('a')).toBe(0);
    expect(slots.waiting('a')).toBe(0);
  });

  it('gives up a wait after waitMs with QUERY_TIMEOUT and forgets it', async () => {
    const slots = new OrganizationSlots(1, 500);
    const held = await slots.acquire('a');
    const waiting = slots.acquire('a');
    const outcome = waiting.then(() => 'granted', (error: unknown) => error);
    await vi.advanceTimersByTimeAsync(499);
    expect(slots.waiting('a')).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'QUERY_TIMEOUT', message: expect.stringMatching(/runs 1 database operations at once.*waited 500 ms/) });
    expect(slots.waiting('a')).toBe(0);
    held();
    expect(slots.inUse('a')).toBe(0);
  });
});
