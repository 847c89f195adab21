import path from 'node:path';
import type { ImportLimits } from './import/import-limits.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type Role = 'all' | 'api' | 'worker';

/** Everything the service reads from its environment, validated once (API.md §1). */
export interface Config {
  /** Unset stays unset: it neither shows internals nor requires APP_SECRET (`npm start` is one command). */
  nodeEnv: string | undefined;
  /** NODE_ENV=production: APP_SECRET is required. */
  production: boolean;
  /**
   * Messages and stacks of unexpected errors reach clients only when the operator asks for them with
   * NODE_ENV=development; any other value, or none, hides them (they are logged either way).
   */
  exposeErrors: boolean;
  /** Unset: an embedded PostgreSQL under `dataDir/pg`. */
  databaseUrl: string | undefined;
  dataDir: string;
  storageDir: string;
  port: number;
  host: string;
  /** Base of the links the service hands out (downloads, GraphiQL). */
  publicUrl: string;
  /** False when derived from HOST/PORT: then the address actually bound (PORT=0) replaces it at start. */
  publicUrlFromEnv: boolean;
  /** Unset: generated once and kept under `dataDir` (see app-secret.ts); required in production. */
  appSecret: string | undefined;
  logLevel: LogLevel;
  downloadLinkTtlSeconds: number;
  importMaxBytes: number;
  /** Hard caps on what an import file may make its parser do (IMPORT_MAX_*; see import-limits.ts). */
  importLimits: ImportLimits;
  /** Heap of an import's parser thread (a file that exhausts it fails that import only). */
  importWorkerMemoryMb: number;
  /** Largest WebSocket message; checked by `ws` before any parsing or authentication (closes with 1009). */
  wsMaxPayloadBytes: number;
  /** A socket that sends no `connection_init` within this time is closed with 4408. */
  wsInitTimeoutMs: number;
  /** Open sockets per token in this process (counts are per process, not cluster-wide). */
  wsMaxConnectionsPerToken: number;
  /** Operations in flight per socket. */
  wsMaxSubscriptionsPerConnection: number;
  /** Exact origins (`scheme://host[:port]`) whose browser pages may call /graphql, /imports and /downloads. */
  corsOrigins: string[];
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    rule: string,
  ) {
    super(`Invalid configuration: ${variable} ${rule}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;
const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function intVar(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

function urlVar(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'must be a URL');
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}`);
  }
  return raw.replace(/\/+$/, '');
}

/**
 * CORS_ORIGINS: each item must be exactly what a browser sends as `Origin` (no path, no trailing slash, lower-case
 * host, no default port), since it is compared byte for byte. `*` is refused on purpose: the operator names the
 * front ends that may call the API rather than opening it to every page on the web.
 */
function originsVar(env: Env, name: string): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((item) => {
    const origin = item.trim();
    if (origin === '*') throw new ConfigError(name, 'must list origins; the wildcard * is not supported');
    const url = URL.parse(origin);
    const exact = url && (url.protocol === 'http:' || url.protocol === 'https:') ? url.origin : undefined;
    if (exact !== origin) {
      const hint = exact ? `; did you mean "${exact}"?` : '';
      const rule = 'must be comma-separated http(s) origins like https://app.example.com';
      throw new ConfigError(name, `${rule} (got "${origin}"${hint})`);
    }
    return origin;
  });
}

/** IMPORT_MAX_*: defaults far beyond a real CRM file (the values of import-limits.ts DEFAULT_IMPORT_LIMITS). */
function importLimitsOf(env: Env): ImportLimits {
  const GiB = 1024 ** 3;
  const MiB = 1024 ** 2;
  return {
    maxEntryBytes: intVar(env, 'IMPORT_MAX_ENTRY_BYTES', 2 * GiB, 1024, 1024 * GiB),
    maxTotalBytes: intVar(env, 'IMPORT_MAX_TOTAL_BYTES', 8 * GiB, 1024, 4096 * GiB),
    maxCompressionRatio: intVar(env, 'IMPORT_MAX_COMPRESSION_RATIO', 200, 2, 100_000),
    maxZipEntries: intVar(env, 'IMPORT_MAX_ZIP_ENTRIES', 10_000, 2, 1_000_000),
    maxColumns: intVar(env, 'IMPORT_MAX_COLUMNS', 512, 16, 16_384),
    maxSharedStringsBytes: intVar(env, 'IMPORT_MAX_SHARED_STRINGS_BYTES', 128 * MiB, 1024, 16 * GiB),
    maxRecordBytes: intVar(env, 'IMPORT_MAX_RECORD_BYTES', MiB, 1024, GiB),
    maxManifestBytes: intVar(env, 'IMPORT_MAX_MANIFEST_BYTES', MiB, 1024, GiB),
  };
}

/** Reads and checks the environment; pure (no I/O), so nothing happens at import time. */
export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = env.NODE_ENV || undefined;
  const production = nodeEnv === 'production';
  const dataDir = path.resolve(env.DATA_DIR || './.data');
  const port = intVar(env, 'PORT', 4000, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  const logLevel = (env.LOG_LEVEL || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const appSecret = env.APP_SECRET || undefined;
  if (appSecret !== undefined && appSecret.length < 32) {
    throw new ConfigError('APP_SECRET', 'must be at least 32 characters');
  }
  if (production && appSecret === undefined) {
    throw new ConfigError('APP_SECRET', 'is required when NODE_ENV=production');
  }
  const linkHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return {
    nodeEnv,
    production,
    exposeErrors: nodeEnv === 'development',
    databaseUrl: urlVar(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir,
    storageDir: path.resolve(env.STORAGE_DIR || path.join(dataDir, 'backups')),
    port,
    host,
    publicUrl: urlVar(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://${linkHost}:${port}`,
    publicUrlFromEnv: Boolean(env.PUBLIC_URL),
    appSecret,
    logLevel,
    downloadLinkTtlSeconds: intVar(env, 'DOWNLOAD_LINK_TTL_SECONDS', 900, 10, 7 * 24 * 3600),
    importMaxBytes: intVar(env, 'IMPORT_MAX_BYTES', 1024 * 1024 * 1024, 1024, 64 * 1024 ** 3),
    importLimits: importLimitsOf(env),
    importWorkerMemoryMb: intVar(env, 'IMPORT_WORKER_MEMORY_MB', 512, 32, 64 * 1024),
    wsMaxPayloadBytes: intVar(env, 'WS_MAX_PAYLOAD_BYTES', 1024 * 1024, 1024, 64 * 1024 ** 2),
    wsInitTimeoutMs: intVar(env, 'WS_INIT_TIMEOUT_MS', 10_000, 100, 10 * 60_000),
    wsMaxConnectionsPerToken: intVar(env, 'WS_MAX_CONNECTIONS_PER_TOKEN', 20, 1, 100_000),
    wsMaxSubscriptionsPerConnection: intVar(env, 'WS_MAX_SUBSCRIPTIONS_PER_CONNECTION', 50, 1, 100_000),
    corsOrigins: originsVar(env, 'CORS_ORIGINS'),
  };
}
