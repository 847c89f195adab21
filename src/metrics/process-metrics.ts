import { collectDefaultMetrics, Registry } from 'prom-client';

let registry: Registry | undefined;

/**
 * CPU, memory, heap, event-loop lag, GC and handles of this process (prom-client's standard names). They describe
 * the process, not an app, and their collectors (a GC observer, an event-loop histogram) run for the life of the
 * process: one registry per process, created on the first scrape, however many apps it builds (tests build many).
 */
export function processMetricsText(): Promise<string> {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry.metrics();
}
