/**
 * The worker process of bench/restore.ts: the service's compiled build (dist/, `npm run build`) in the worker role,
 * started with the V8 flags of `bin/crm-data-admin`, i.e. the process production runs imports in. Not run by hand:
 *
 *   node <worker flags of bin/crm-data-admin> bench/restore-worker.ts <database url> <data dir> [batch size] [parallel batches]
 *
 * Prints one JSON line when started (`idleMb`), then runs jobs until its stdin closes, prints its peak RSS since
 * it started (`peakMb`: the kernel's high-water mark, reset after start-up, parser thread included) with the main
 * thread's peak V8 heap (`heapUsedMb`, `heapTotalMb`), and exits.
 * Plain erasable TypeScript that Node runs by itself: no loader of its own to weigh on the figure.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const MB = 1024 * 1024;
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const [databaseUrl, dir, batch, parallel] = process.argv.slice(2);
if (!databaseUrl || !dir) throw new Error('usage: restore-worker.ts <database url> <data dir> [batch] [parallel]');

const dist = new URL('../dist/', import.meta.url);
await import('reflect-metadata');
const { createApp } = await import(new URL('app.js', dist).href);
const { loadConfig } = await import(new URL('config.js', dist).href);
const { default: pino } = await import('pino');

const config = loadConfig({ NODE_ENV: 'test', APP_SECRET: SECRET, LOG_LEVEL: 'warn', DATA_DIR: dir, IMPORT_MAX_BYTES: String(8 * 1024 ** 3), RATE_LIMIT_PER_MINUTE: '0' });
const imports = { ...(batch ? { batchSize: Number(batch) } : {}), ...(parallel ? { parallelBatches: Number(parallel) } : {}) };
const app = await createApp({ config, databaseUrl, appSecret: SECRET, role: 'worker', log: pino({ level: 'warn' }, pino.destination(2)), listen: { host: '127.0.0.1', port: 0 }, overrides: { imports } });
console.log(JSON.stringify({ idleMb: process.memoryUsage.rss() / MB }));
const peak = peakRssSince();
// What holds the memory: the main thread's V8 heap (used, and reserved) against the process's RSS (the rest is
// the parser thread, buffers, code and Node itself).
const heap = { usedMb: 0, totalMb: 0 };
const probe = setInterval(() => {
  const m = process.memoryUsage();
  heap.usedMb = Math.max(heap.usedMb, m.heapUsed / MB);
  heap.totalMb = Math.max(heap.totalMb, m.heapTotal / MB);
}, 20);
process.stdin.resume();
await new Promise((resolve) => process.stdin.once('end', resolve));
const peakMb = peak();
clearInterval(probe);
await app.close();
console.log(JSON.stringify({ peakMb, heapUsedMb: heap.usedMb, heapTotalMb: heap.totalMb }));
process.exit(0);

/**
 * The process's peak RSS from now on, in MB: Linux resets the kernel's high-water mark (VmHWM) on writing 5 to
 * /proc/self/clear_refs, which catches every spike; elsewhere RSS is sampled every 10 ms.
 */
function peakRssSince(): () => number {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
  } catch {
    let highest = process.memoryUsage.rss();
    const timer = setInterval(() => (highest = Math.max(highest, process.memoryUsage.rss())), 10);
    return () => (clearInterval(timer), Math.max(highest, process.memoryUsage.rss()) / MB);
  }
}
