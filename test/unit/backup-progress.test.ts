import { afterEach, describe, expect, it, vi } from 'vitest';
import { percentOf, PROGRESS_MIN_INTERVAL_MS, ProgressPublisher, ProgressThrottle, type ProgressPoint } from '../../src/jobs/job-progress.ts';
import { OverallProgress } from '../../src/modules/backup/backup-progress.ts';

const point = (processedRecords: number, totalRecords = 1000, module: string | null = 'LEADS') => ({ module, processedRecords, totalRecords });

describe('ProgressThrottle', () => {
  it('passes the first report, then one per whole percent', () => {
    const throttle = new ProgressThrottle();
    expect(throttle.accept(point(0), 0)).toBe(true);
    expect(throttle.accept(point(5), 300)).toBe(false); // 0.5 %
    expect(throttle.accept(point(9), 600)).toBe(false);
    expect(throttle.accept(point(10), 900)).toBe(true); // 1 %
    expect(throttle.accept(point(19), 1200)).toBe(false);
    expect(throttle.accept(point(35), 1500)).toBe(true);
  });

  it('passes a change after a second even below one percent, but not a repeat', () => {
    const throttle = new ProgressThrottle();
    const total = 1_000_000;
    expect(throttle.accept(point(0, total), 0)).toBe(true);
    expect(throttle.accept(point(100, total), 999)).toBe(false);
    expect(throttle.accept(point(200, total), 1000)).toBe(true);
    expect(throttle.accept(point(200, total), 5000)).toBe(false); // nothing moved
  });

  it('always passes a module change and the final report', () => {
    const throttle = new ProgressThrottle();
    expect(throttle.accept(point(0, 1000, 'LEADS'), 0)).toBe(true);
    expect(throttle.accept(point(1, 1000, 'CONTACTS'), 1)).toBe(true);
    expect(throttle.accept(point(995, 1000, 'CONTACTS'), 300)).toBe(true);
    expect(throttle.accept(point(1000, 1000, 'CONTACTS'), 301)).toBe(true);
  });

  it('emits at most about a hundred reports for a million records reported one by one', () => {
    const throttle = new ProgressThrottle();
    let passed = 0;
    // A percent (10,000 records) every 300 ms: slower than the floor, so each percent passes.
    for (let i = 0; i <= 1_000_000; i += 100) if (throttle.accept(point(i, 1_000_000), i * 0.03)) passed += 1;
    expect(passed).toBeGreaterThanOrEqual(100);
    expect(passed).toBeLessThanOrEqual(102);
  });

  it('passes no more than one report per PROGRESS_MIN_INTERVAL_MS when percents go by faster', () => {
    const throttle = new ProgressThrottle();
    const times: number[] = [];
    // A percent every 10 ms for a second: 100 percents, but only a report each 250 ms, and the finish.
    for (let ms = 0; ms <= 1000; ms += 1) if (throttle.accept(point(ms, 1000), ms)) times.push(ms);
    expect(times).toEqual([0, 250, 500, 750, 1000]);
  });

  it('still passes a module change and the finish inside the floor', () => {
    const throttle = new ProgressThrottle();
    expect(throttle.accept(point(0, 1000, 'LEADS'), 0)).toBe(true);
    expect(throttle.accept(point(500, 1000, 'LEADS'), 10)).toBe(false); // 50 %, but 10 ms after the last
    expect(throttle.accept(point(600, 1000, 'CONTACTS'), 20)).toBe(true);
    expect(throttle.accept(point(1000, 1000, 'CONTACTS'), 30)).toBe(true);
  });

  it('refuses a floor that is not a number of milliseconds', () => {
    expect(() => new ProgressThrottle(1000, 1, -1)).toThrow(/minMs/);
    expect(() => new ProgressThrottle(1000, 1, Number.NaN)).toThrow(/minMs/);
  });
});

describe('ProgressPublisher (fake timers)', () => {
  afterEach(() => vi.useRealTimers());

  it('writes one report per 250 ms while a fast job crosses a percent every 5 ms, then the finish', async () => {
    vi.useFakeTimers({ toFake: ['performance', 'Date', 'setTimeout', 'setInterval'] });
    const written: ProgressPoint[] = [];
    const publisher = new ProgressPublisher(async (p) => (written.push(p), true), { onLost: () => undefined, onError: () => undefined });
    const total = 400; // 2 s of work, 1 record each 5 ms
    for (let done = 0; done <= total; done += 1) {
      publisher.report(point(done, total, 'CONTACTS'));
      await vi.advanceTimersByTimeAsync(5);
    }
    await publisher.settle();
    // 0, 250, …, 1750 ms, and 2000 ms (the finish): 9 events instead of the 101 percents.
    expect(written.map((p) => p.processedRecords)).toEqual([0, 50, 100, 150, 200, 250, 300, 350, 400]);
    expect(PROGRESS_MIN_INTERVAL_MS).toBe(250);
  });
});

describe('percentOf', () => {
  it('is 0..100 with one decimal and 0 for nothing to do', () => {
    expect(percentOf({ processedRecords: 1, totalRecords: 3 })).toBe(33.3);
    expect(percentOf({ processedRecords: 3, totalRecords: 3 })).toBe(100);
    expect(percentOf({ processedRecords: 5, totalRecords: 3 })).toBe(100);
    expect(percentOf({ processedRecords: 0, totalRecords: 0 })).toBe(0);
  });
});

describe('OverallProgress', () => {
  it('adds the modules up, replacing estimates with the exact totals as modules begin', () => {
    const overall = new OverallProgress(new Map([['LEADS', 10], ['CONTACTS', 20], ['ACCOUNTS', 0], ['DEALS', 5]]));
    expect(overall.update('LEADS', 0, 12)).toEqual({ module: 'LEADS', processedRecords: 0, totalRecords: 37 });
    expect(overall.update('LEADS', 12, 12)).toEqual({ module: 'LEADS', processedRecords: 12, totalRecords: 37 });
    expect(overall.update('CONTACTS', 10, 20)).toEqual({ module: 'CONTACTS', processedRecords: 22, totalRecords: 37 });
    expect(overall.update('DEALS', 5, 5)).toEqual({ module: 'DEALS', processedRecords: 27, totalRecords: 37 });
  });
});
