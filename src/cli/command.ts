import type { Config } from '../config.ts';
import type { Logger } from '../shared/logger.ts';

/** What every command runs with once its options are known to be good. */
export interface CommandContext {
  config: Config;
  log: Logger;
  databaseUrl: string;
  /** Session-mode URL (DATABASE_DIRECT_URL, default databaseUrl): migrations take a session advisory lock. */
  databaseDirectUrl: string;
}

/**
 * A command reads its options first and only then returns what to run: a usage error costs no database and no
 * module loading. The runner imports what it needs itself, so `token create` never loads the GraphQL server.
 */
export type Command = (argv: string[]) => (ctx: CommandContext) => Promise<void>;
