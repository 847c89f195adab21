import module from 'node:module';
import path from 'node:path';

/** Where Node keeps compiled code between starts: beside the data, so it lasts as long as DATA_DIR does. */
export const compileCacheDir = (dataDir: string): string => path.join(dataDir, 'cache', 'node-compile');

/**
 * Turns on Node's on-disk compile cache for the modules loaded from here on (a start loads ~1,500): later starts
 * skip most of their parsing and compiling, about a third of the CPU to the GraphiQL line (bench/startup.ts).
 *
 * The folder is under DATA_DIR rather than the OS temp dir, which a reboot or a fresh container empties: DATA_DIR
 * persists wherever the data does (the container's volume). Node checks each entry against the source's hash and
 * its own version, so an upgrade never runs stale code; it writes new entries when the process exits. Node's own
 * NODE_COMPILE_CACHE (another folder) and NODE_DISABLE_COMPILE_CACHE=1 take precedence. A folder it cannot write
 * only loses the speed-up: the returned message says why, for the debug log.
 */
export function enableCompileCache(dataDir: string): string | undefined {
  const result = module.enableCompileCache(compileCacheDir(dataDir));
  return result.status === module.constants.compileCacheStatus.FAILED ? result.message : undefined;
}
