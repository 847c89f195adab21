import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import type { EventBus } from '../events/event-bus.ts';
import type { Topics } from '../events/event-topics.ts';

/** What subscription resolvers read: `subscribe(topic, id)` over the events module. */
export type SubscriptionPubSub = Pick<PubSub<Topics>, 'subscribe'>;

/**
 * GraphQL's side of the events module: a thin adapter (createPubSub over the bus's EventTarget), only for
 * subscribing. Features publish to the bus, never through GraphQL.
 */
export function createSubscriptionPubSub(events: EventBus): SubscriptionPubSub {
  return createPubSub<Topics>({ eventTarget: events.eventTarget as never });
}
