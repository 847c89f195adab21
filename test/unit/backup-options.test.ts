import { describe, expect, it } from 'vitest';
import { backupOptionsFor, DEFAULT_BACKUP_OPTIONS } from '../../src/modules/backup/backup-deps.ts';

describe('backupOptionsFor', () => {
  it('builds archives on the job thread in a worker process, which serves no API', () => {
    expect(backupOptionsFor('worker').exportOnJobThread).toBe(true);
  });

  it('keeps the export thread where the process serves the API', () => {
    expect(backupOptionsFor('all').exportOnJobThread).toBe(false);
    expect(backupOptionsFor('api').exportOnJobThread).toBe(false);
    expect(DEFAULT_BACKUP_OPTIONS.exportOnJobThread).toBe(false);
  });

  it('lets an explicit option win over the role', () => {
    expect(backupOptionsFor('worker', { exportOnJobThread: false }).exportOnJobThread).toBe(false);
    expect(backupOptionsFor('all', { exportOnJobThread: true, keepArchives: 5 })).toEqual({ exportOnJobThread: true, keepArchives: 5 });
  });
});
