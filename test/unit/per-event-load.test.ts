import { describe, expect, it } from 'vitest';
import { PerEventLoad } from '../../src/graphql/per-event-load.ts';

describe('PerEventLoad', () => {
  it('loads once per event and scope, however many subscribers ask', async () => {
    const loads = new PerEventLoad<string>();
    let calls = 0;
    const load = async () => `row ${++calls}`;
    const event = { backupId: 'b' };
    const results = await Promise.all(Array.from({ length: 500 }, () => loads.get(event, 'org-a', load)));
    expect(new Set(results)).toEqual(new Set(['row 1']));
    expect(calls).toBe(1);
  });

  it('never shares a load across scopes (organizations) or across events', async () => {
    const loads = new PerEventLoad<string>();
    const event = { backupId: 'b' };
    expect(await loads.get(event, 'org-a', async () => 'a')).toBe('a');
    expect(await loads.get(event, 'org-b', async () => 'b')).toBe('b');
    // The next event of the same backup is a new object: it is loaded again (the row has moved on).
    expect(await loads.get({ backupId: 'b' }, 'org-a', async () => 'a, later')).toBe('a, later');
  });

  it('hands a failed load to every subscriber of that event, and loads the next event afresh', async () => {
    const loads = new PerEventLoad<string>();
    const event = { backupId: 'b' };
    const failing = async () => Promise.reject(new Error('database unreachable'));
    await expect(loads.get(event, 'org-a', failing)).rejects.toThrow('database unreachable');
    await expect(loads.get(event, 'org-a', async () => 'not asked')).rejects.toThrow('database unreachable');
    expect(await loads.get({ backupId: 'b' }, 'org-a', async () => 'ok')).toBe('ok');
  });
});
