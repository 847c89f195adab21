import { describe, expect, it } from 'vitest';
import { percentOf, ProgressThrottle } from '../../src/jobs/job-progress.ts';
import { OverallProgress } from '../../src/modules/backup/backup-progress.ts';

const point = (processedRecords: number, totalRecords = 1000, module: string | null = 'LEADS') => ({ module, processedRecords, totalRecords });

describe('ProgressThrottle', () => {
  it('passes the first report, then one per whole percent', () => {
    const throttle = new ProgressThrottle();
    expect(throttle.accept(point(0), 0)).toBe(true);
    expect(throttle.accept(point(5), 1)).toBe(false); // 0.5 %
    expect(throttle.accept(point(9), 2)).toBe(false);
    expect(throttle.accept(point(10), 3)).toBe(true); // 1 %
    expect(throttle.accept(point(19), 4)).toBe(false);
    expect(throttle.accept(point(35), 5)).toBe(true);
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
    expect(throttle.accept(point(995, 1000, 'CONTACTS'), 2)).toBe(true);
    expect(throttle.accept(point(1000, 1000, 'CONTACTS'), 3)).toBe(true);
  });

  it('emits at most about a hundred reports for a million records reported one by one', () => {
    const throttle = new ProgressThrottle();
    let passed = 0;
    for (let i = 0; i <= 1_000_000; i += 100) if (throttle.accept(point(i, 1_000_000), i / 1000)) passed += 1;
    expect(passed).toBeGreaterThanOrEqual(100);
    expect(passed).toBeLessThanOrEqual(102);
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
