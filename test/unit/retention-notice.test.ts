import { describe, expect, it } from 'vitest';
import { describeCounts, noticeHorizon, type Counts } from '../../src/modules/retention/retention-sweep.service.ts';

describe('retention notice window', () => {
  it('ends at the end of the UTC day noticeDays after today, whatever the time of day', () => {
    for (const at of ['2025-06-01T00:00:00.000Z', '2025-06-01T08:00:00.000Z', '2025-06-01T23:59:59.999Z']) {
      expect(noticeHorizon(new Date(at), 7).toISOString()).toBe('2025-06-09T00:00:00.000Z');
    }
  });

  it('moves by one day per day, so each due day is announced once', () => {
    expect(noticeHorizon(new Date('2025-06-02T00:00:00.000Z'), 7).toISOString()).toBe('2025-06-10T00:00:00.000Z');
    expect(noticeHorizon(new Date('2025-02-28T12:00:00.000Z'), 1).toISOString()).toBe('2025-03-02T00:00:00.000Z');
    expect(noticeHorizon(new Date('2024-12-31T12:00:00.000Z'), 90).toISOString()).toBe('2025-04-01T00:00:00.000Z');
  });
});

describe('notification text', () => {
  const counts: Counts = {
    LEADS: { expired: 3, masked: 0, deleted: 4 },
    CONTACTS: { expired: 0, masked: 120, deleted: 3 },
  };

  it('names modules and counts only, skipping zeros', () => {
    expect(describeCounts(counts, ['masked', 'deleted'])).toEqual(['leads: 4 deleted', 'contacts: 120 masked, 3 deleted']);
    expect(describeCounts(counts, ['masked', 'deleted'], 'to be ')).toEqual(['leads: 4 to be deleted', 'contacts: 120 to be masked, 3 to be deleted']);
  });

  it('says nothing when nothing happened', () => {
    const none: Counts = { LEADS: { expired: 2, masked: 0, deleted: 0 }, CONTACTS: { expired: 0, masked: 0, deleted: 0 } };
    expect(describeCounts(none, ['masked', 'deleted'])).toEqual([]);
  });
});
