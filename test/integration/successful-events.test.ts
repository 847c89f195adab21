import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/transaction.ts';
import { EventBus } from '../../src/events/event-bus.ts';
import { eventNotifyQuery } from '../../src/events/event-topics.ts';
import { eventually } from '../support/restore-helpers.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/**
 * The events module without GraphQL: a consumer such as email or webhooks listens to a whole topic, or to one
 * id, and hears what any process published, whether at once or with a transaction that committed.
 */
describe('events over LISTEN/NOTIFY, for any consumer', () => {
  let db: TestDatabase;
  let publisher: EventBus;
  let consumer: EventBus;
  beforeAll(async () => {
    db = await createTestDatabase();
    const log = pino({ level: 'silent' });
    // Two buses, as two processes would have: what one publishes, the other hears.
    publisher = new EventBus(db.pool, db.url, log);
    consumer = new EventBus(db.pool, db.url, log);
    await Promise.all([publisher.ready(), consumer.ready()]);
  });
  afterAll(async () => {
    await publisher.close();
    await consumer.close();
    await db.drop();
  });

  it('delivers a topic to its listeners, whatever the id; a listener that throws does not stop the others', async () => {
    const heard: [string, string][] = [];
    const offBroken = consumer.on('notificationAdded', () => {
      throw new Error('a broken consumer');
    });
    const off = consumer.on('notificationAdded', (userId, payload) => heard.push([userId, payload.notificationId]));
    const [a, b] = [randomUUID(), randomUUID()];
    publisher.publish('notificationAdded', a, { notificationId: 'n1' });
    publisher.publish('notificationAdded', b, { notificationId: 'n2' });
    await eventually(async () => heard.length === 2, 'both events', 10_000);
    // Each publish is its own NOTIFY on a pooled connection: both arrive, in either order.
    expect(heard).toHaveLength(2);
    expect(heard).toEqual(expect.arrayContaining([[a, 'n1'], [b, 'n2']]));
    off();
    offBroken();
  });

  it('delivers an event published with a transaction only once it commits, and never one that rolled back', async () => {
    const id = randomUUID();
    const iterator = consumer.subscribe('importJobUpdated', id);
    const first = iterator.next();
    await expect(
      withTransaction(db.pool, async (tx) => {
        await tx.q.query(eventNotifyQuery('importJobUpdated', id, { importJobId: 'rolled-back' }));
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await withTransaction(db.pool, async (tx) => {
      await tx.q.query(eventNotifyQuery('importJobUpdated', id, { importJobId: id }));
    });
    expect((await first).value).toEqual({ importJobId: id });
    await iterator.return?.();
  });
});
