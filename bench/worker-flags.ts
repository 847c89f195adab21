import { readFileSync } from 'node:fs';

/**
 * The V8 flags `bin/crm-data-admin` gives a `serve --role worker` process, read from the launcher itself so the
 * benches measure the worker exactly as it is deployed.
 */
export function workerNodeFlags(): string[] {
  const launcher = readFileSync(new URL('../bin/crm-data-admin', import.meta.url), 'utf8');
  const match = /^worker_flags="([^"]*)"$/m.exec(launcher);
  if (!match) throw new Error('bin/crm-data-admin has no worker_flags="…" line');
  return match[1]!.split(' ').filter(Boolean);
}
