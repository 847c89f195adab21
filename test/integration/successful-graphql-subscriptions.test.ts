import { sql } from '../../src/db/drizzle-orm.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventNotifyQuery } from '../../src/events/event-topics.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { publishUntilReceived, type RunningTestApp } from '../support/foundation-helpers.ts';
import { startTestApp, subscribe } from '../support/test-app.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

type Added = { notificationAdded: { id: string; kind: string; title: string; body: string | null; readAt: string | null } };
const SUBSCRIPTION = 'subscription { notificationAdded { id kind title body readAt } }';
/** Titles received since an index, without late duplicates of the warm-up (it may be published twice). */
const titlesAfter = (events: Added[], index: number) =>
  events.slice(index).map((e) => e.notificationAdded.title).filter((title) => title !== 'warm-up');

/**
 * Scale-out: a client connected to one api process hears what another process published, because events
 * travel through PostgreSQL LISTEN/NOTIFY and not through any process's memory.
 */
describe('subscriptions across two app instances on one database', () => {
  let db: TestDatabase;
  let a: RunningTestApp;
  let b: RunningTestApp;
  let org: TestOrg;
  let other: TestOrg;
  beforeAll(async () => {
    db = await createTestDatabase();
    a = await startTestApp({ db, role: 'api' });
    b = await startTestApp({ db, role: 'api' });
    org = await createOrg(a.app);
    other = await createOrg(b.app);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('delivers a notification published on instance B to a client of instance A, and to nobody else', async () => {
    expect(a.url).not.toBe(b.url);
    const mine = subscribe<Added>(a.ws(org.standard.token), SUBSCRIPTION);
    const admin = subscribe<Added>(a.ws(org.admin.token), SUBSCRIPTION);
    const foreign = subscribe<Added>(a.ws(other.admin.token), SUBSCRIPTION);
    const notify = (t: TestOrg, userId: string, title: string) =>
      b.app.services.notifications.notify([userId], { organizationId: t.organizationId, kind: 'test.ping', title, body: 'b' });

    // Every subscriber is proven live first (each receives one notification of its own).
    await publishUntilReceived(() => mine.events.length, () => notify(org, org.standard.userId, 'warm-up'));
    await publishUntilReceived(() => admin.events.length, () => notify(org, org.admin.userId, 'warm-up'));
    await publishUntilReceived(() => foreign.events.length, () => notify(other, other.admin.userId, 'warm-up'));
    const foreignBefore = foreign.events.length;
    const adminBefore = admin.events.length;

    const [sent] = await notify(org, org.standard.userId, 'Backup completed');
    const received = await mine.waitFor((e) => e.notificationAdded.title === 'Backup completed');
    expect(received.notificationAdded).toEqual({ id: sent!.id, kind: 'test.ping', title: 'Backup completed', body: 'b', readAt: null });

    // A sentinel for the others, published after: NOTIFYs arrive in commit order, so had the notification
    // leaked to them it would have arrived before their sentinel.
    await notify(other, other.admin.userId, 'sentinel');
    await notify(org, org.admin.userId, 'sentinel');
    await foreign.waitFor((e) => e.notificationAdded.title === 'sentinel');
    await admin.waitFor((e) => e.notificationAdded.title === 'sentinel');
    expect(titlesAfter(foreign.events, foreignBefore)).toEqual(['sentinel']);
    expect(titlesAfter(admin.events, adminBefore)).toEqual(['sentinel']);
    expect(mine.errors).toEqual([]);
    expect(foreign.errors).toEqual([]);
    for (const s of [mine, admin, foreign]) s.dispose();
  });

  it('delivers an event published inside a committed transaction, not one that rolled back', async () => {
    const sub = subscribe<Added>(b.ws(org.admin.token), SUBSCRIPTION);
    const notify = (title: string) =>
      a.app.services.notifications.notify([org.admin.userId], { organizationId: org.organizationId, kind: 'test', title });
    await publishUntilReceived(() => sub.events.length, () => notify('warm-up'));
    const before = sub.events.length;

    // Rolled back: the row is gone and so is the NOTIFY (PostgreSQL sends it at commit only).
    await a.app.services.db
      .transaction(async (tx) => {
        const rows = await a.app.services.notifications.create([org.admin.userId], { organizationId: org.organizationId, kind: 'test', title: 'rolled back' }, tx);
        const notify = eventNotifyQuery('notificationAdded', org.admin.userId, { notificationId: rows[0]!.id });
        await tx.execute(sql`select pg_notify(${notify.values[0]}, ${notify.values[1]})`);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await notify('after');
    await sub.waitFor((e) => e.notificationAdded.title === 'after');
    expect(titlesAfter(sub.events, before)).toEqual(['after']);
    sub.dispose();
  });
});
