import { describe, expect, it } from 'vitest';
import { mayEditRetention, recordRetention } from '../../src/modules/crm/crm.resolver.ts';

const ADMIN = { role: 'ADMIN' as const, userId: 'a' };
const OWNER = { role: 'STANDARD' as const, userId: 'o' };
const OTHER = { role: 'STANDARD' as const, userId: 'x' };

describe('RecordRetention.canEdit (API.md §6 "Rules")', () => {
  it.each([
    ['ADMIN, any record', ADMIN, { ownerId: 'o', state: 'MASKED', legalHold: true }, true],
    ['STANDARD owner, ACTIVE', OWNER, { ownerId: 'o', state: 'ACTIVE', legalHold: false }, true],
    ['STANDARD owner, EXPIRED', OWNER, { ownerId: 'o', state: 'EXPIRED', legalHold: false }, true],
    ['STANDARD non-owner', OTHER, { ownerId: 'o', state: 'ACTIVE', legalHold: false }, false],
    ['STANDARD, no owner', OWNER, { ownerId: null, state: 'ACTIVE', legalHold: false }, false],
    ['STANDARD owner, MASKED', OWNER, { ownerId: 'o', state: 'MASKED', legalHold: false }, false],
    ['STANDARD owner, on hold', OWNER, { ownerId: 'o', state: 'ACTIVE', legalHold: true }, false],
  ])('%s → %s', (_label, viewer, record, expected) => {
    expect(mayEditRetention(viewer, record)).toBe(expected);
  });
});

describe('RecordRetention.source', () => {
  const base = { ownerId: 'o', retentionState: 'ACTIVE' as const, deletesAt: null, maskedAt: null, legalHold: false };
  it('reads the stored source while there is a date, NONE without one (0.1 dates were migrated to POLICY)', () => {
    const at = new Date('2027-01-01T00:00:00Z');
    expect(recordRetention({ ...base, retentionEndsAt: at, retentionSource: 'CUSTOM' }, OWNER).source).toBe('CUSTOM');
    expect(recordRetention({ ...base, retentionEndsAt: at, retentionSource: 'POLICY' }, OWNER).source).toBe('POLICY');
    expect(recordRetention({ ...base, retentionEndsAt: null, retentionSource: 'CUSTOM' }, OWNER).source).toBe('NONE');
  });
});
