/**
 * What a subscription resolver loads for an event, loaded once per event per process rather than once per
 * subscriber. The event bus hands the same payload object to every subscriber of a `topic:id` in this process
 * (event-bus.ts `deliver`), so the payload keys the load; `scope` (the viewer's organization) is part of the key,
 * so a load is never shared across organizations even if two ever saw the same payload. Entries go with the
 * payload once every subscriber is done with it (WeakMap).
 *
 * Why: with 500 subscribers on one process, a `backupEvents` event cost 500 identical queries, queued on the
 * pool, and the last subscriber got the event seconds late (bench/live-events.ts).
 */
export class PerEventLoad<V> {
  private readonly loads = new WeakMap<object, Map<string, Promise<V>>>();

  /** The first caller's `load` runs; every later caller with the same event and scope shares its result. */
  get(event: object, scope: string, load: () => Promise<V>): Promise<V> {
    let byScope = this.loads.get(event);
    if (!byScope) this.loads.set(event, (byScope = new Map()));
    let pending = byScope.get(scope);
    if (!pending) byScope.set(scope, (pending = load()));
    return pending;
  }
}
