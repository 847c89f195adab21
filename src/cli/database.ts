import path from 'node:path';
import type { Config } from '../config.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import type { Logger } from '../shared/logger.ts';

export interface ResolvedDatabase {
  url: string;
  /** Session-mode URL for LISTEN, session advisory locks and snapshot reads (DATABASE_DIRECT_URL); else `url`. */
  directUrl: string;
  embedded: boolean;
  /** Stops an embedded server this process started; a no-op otherwise. */
  stop(): Promise<void>;
}

/**
 * DATABASE_URL when set; otherwise the embedded PostgreSQL under DATA_DIR/pg — joined if a running `serve`
 * started it (its port is recorded there), else started here (`onLaunch`: see EmbeddedOptions).
 */
export async function resolveDatabase(config: Config, log: Logger, onLaunch?: () => void): Promise<ResolvedDatabase> {
  if (config.databaseUrl) {
    const directUrl = config.databaseDirectUrl ?? config.databaseUrl;
    return { url: config.databaseUrl, directUrl, embedded: false, stop: async () => undefined };
  }
  const server = await startEmbeddedPostgres({ dir: path.join(config.dataDir, 'pg'), log, onLaunch });
  return { url: server.url, directUrl: server.url, embedded: true, stop: () => server.stop() };
}
