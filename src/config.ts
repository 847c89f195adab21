import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
  /** Unset: an embedded PostgreSQL under `dataDir/pg`. May point at PgBouncer in transaction pooling mode. */
  databaseUrl: string | undefined;
  /**
   * A session-mode connection (PostgreSQL itself, or a session-pooling PgBouncer) for what a transaction pooler
   * cannot carry: LISTEN, session advisory locks, long snapshot reads. Unset: the same as `databaseUrl`.
   */
  databaseDirectUrl: string | undefined;
  dataDir: string;
  /** The folder of a `file:` store (STORAGE_DIR, or STORAGE_URL's path); unused by an `s3:` store. */
  storageDir: string;
  /** Where archives live (STORAGE_URL); src/storage/blob-store-factory.ts builds the store from it. */
  storage: StorageConfig;
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
  /**
   * Operations per minute per token (per client address when unauthenticated), counted in each api process on
   * its own: N api processes behind a load balancer allow up to N × this. 0 disables the limit (benchmarks).
   */
  rateLimitPerMinute: number;
  /** Each statement of a GraphQL operation is cancelled after this long (QUERY_TIMEOUT); 0: no limit. */
  graphqlStatementTimeoutMs: number;
  /** Database operations one organization's GraphQL requests may run at once in this process (of a pool of 20). */
  graphqlDbConcurrencyPerOrg: number;
  /** Exact origins (`scheme://host[:port]`) whose browser pages may call /graphql, /imports and /downloads. */
  corsOrigins: string[];
  /** Unset: no email is sent (and nothing fails for want of it). */
  smtpUrl: string | undefined;
  /** The From of every email. */
  mailFrom: string;
  /** Lifetime of a download link in an email; never beyond the archive's own life (the link dies with it). */
  emailLinkTtlSeconds: number;
  /** Webhook URLs may resolve to loopback/private addresses (tests, on-premise). */
  webhookAllowPrivate: boolean;
  /** When set, `GET /metrics` requires `Authorization: Bearer <metricsToken>`; unset, it is open. */
  metricsToken: string | undefined;
}

export type StorageConfig = FileStorageConfig | S3StorageConfig;

export interface FileStorageConfig {
  kind: 'file';
  dir: string;
}

export interface S3StorageConfig {
  kind: 's3';
  bucket: string;
  /** Key prefix without leading or trailing slash; '' for the bucket's root. */
  prefix: string;
  /** S3_ENDPOINT, for S3-compatible stores; unset: AWS's endpoint for the region. */
  endpoint: string | undefined;
  forcePathStyle: boolean;
  /** AWS_REGION (or AWS_DEFAULT_REGION); unset: the SDK's own chain (profile), or us-east-1 with S3_ENDPOINT. */
  region: string | undefined;
  /**
   * AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); unset: the SDK's default chain (profile,
   * web identity, container or instance role), so deployments on AWS need no keys in the environment.
   */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
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

/** Connections in each process's main database pool. */
export const DB_POOL_SIZE = 20;

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

// S3's bucket naming rules (lower case, 3-63 characters, no leading/trailing dot or hyphen).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// The same segments as blob keys (storage/blob-store.ts), so a prefix can never escape or collide.
const PREFIX_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const STORAGE_URL_RULE = 'must be file:///absolute/path or s3://bucket/prefix';

/**
 * STORAGE_URL (API.md §6): `file:///abs/path` or `s3://bucket/prefix`; unset: `file://` + STORAGE_DIR. Setting
 * both is refused rather than one silently winning. Credentials never go in the URL (they would end up in
 * logs and process listings): they come from the AWS_* variables.
 */
function storageVar(env: Env, storageDir: string): StorageConfig {
  const raw = env.STORAGE_URL;
  if (raw === undefined || raw === '') {
    if (env.S3_ENDPOINT || env.S3_FORCE_PATH_STYLE) {
      throw new ConfigError('S3_ENDPOINT', 'and S3_FORCE_PATH_STYLE apply only with STORAGE_URL=s3://bucket/prefix');
    }
    return { kind: 'file', dir: storageDir };
  }
  if (env.STORAGE_DIR) throw new ConfigError('STORAGE_URL', 'and STORAGE_DIR are both set; set STORAGE_URL alone');
  const url = URL.parse(raw);
  if (!url) throw new ConfigError('STORAGE_URL', `${STORAGE_URL_RULE} (got "${raw}")`);
  if (url.username || url.password) {
    throw new ConfigError('STORAGE_URL', 'must not hold credentials; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  }
  if (url.search || url.hash || url.port) {
    throw new ConfigError('STORAGE_URL', `${STORAGE_URL_RULE}, without port, query or fragment (got "${raw}")`);
  }
  if (url.protocol === 'file:') return fileStorage(url, raw, env);
  if (url.protocol === 's3:') return s3Storage(url, raw, env);
  throw new ConfigError('STORAGE_URL', `${STORAGE_URL_RULE} (got "${raw}")`);
}

function fileStorage(url: URL, raw: string, env: Env): FileStorageConfig {
  if (url.hostname !== '' && url.hostname !== 'localhost') {
    throw new ConfigError('STORAGE_URL', `must be file:///absolute/path with three slashes (got "${raw}")`);
  }
  if (env.S3_ENDPOINT || env.S3_FORCE_PATH_STYLE) {
    throw new ConfigError('S3_ENDPOINT', 'and S3_FORCE_PATH_STYLE apply only with STORAGE_URL=s3://bucket/prefix');
  }
  const dir = path.resolve(fileURLToPath(url));
  if (dir === path.parse(dir).root) throw new ConfigError('STORAGE_URL', 'must name a folder, not the file system root');
  return { kind: 'file', dir };
}

function s3Storage(url: URL, raw: string, env: Env): S3StorageConfig {
  const bucket = url.hostname;
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new ConfigError('STORAGE_URL', `must name a valid bucket (3-63 of a-z, 0-9, "." and "-") as in s3://bucket/prefix (got "${raw}")`);
  }
  // From the text as written: URL parsing would quietly resolve `a/../b` to `b`.
  const prefix = raw.slice(`s3://${bucket}`.length).replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && !prefix.split('/').every((s) => PREFIX_SEGMENT.test(s) && !s.includes('..'))) {
    throw new ConfigError('STORAGE_URL', `prefix must be "/"-separated names of A-Z, a-z, 0-9, ".", "_" and "-" (got "${raw}")`);
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY || undefined;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new ConfigError(accessKeyId ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID', 'is required with the other AWS key variable');
  }
  const sessionToken = env.AWS_SESSION_TOKEN || undefined;
  return {
    kind: 's3',
    bucket,
    prefix,
    endpoint: urlVar(env, 'S3_ENDPOINT', ['http:', 'https:']),
    forcePathStyle: boolVar(env, 'S3_FORCE_PATH_STYLE', false),
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined,
  };
}

/** SMTP_URL: `smtp://host:port` or `smtps://user:pass@host:port`; the message never echoes the value (it may hold a password). */
function smtpVar(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const url = URL.parse(raw);
  if (!url || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || url.hostname === '') {
    throw new ConfigError(name, 'must be a URL like smtp://host:port or smtps://user:pass@host:port');
  }
  return raw;
}

/**
 * METRICS_TOKEN: sent verbatim in an Authorization header, so no whitespace; long enough that guessing it is not
 * a plan (a scraper's secret, not a password a person types).
 */
function metricsTokenVar(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^[\x21-\x7e]{16,512}$/.test(raw)) {
    throw new ConfigError(name, 'must be 16 to 512 printable characters without spaces');
  }
  return raw;
}

/** MAIL_FROM: `address@host` or `Name <address@host>`, on one line. */
function mailFromVar(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/.test(raw.trim())) {
    throw new ConfigError(name, `must be an email address like "Backups <backups@example.com>" (got "${raw}")`);
  }
  return raw.trim();
}

function boolVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be true or false (got "${raw}")`);
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
  const databaseUrl = urlVar(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const databaseDirectUrl = urlVar(env, 'DATABASE_DIRECT_URL', ['postgres:', 'postgresql:']);
  // Without DATABASE_URL the service runs on its embedded PostgreSQL: a direct URL beside it would be ignored.
  if (databaseDirectUrl !== undefined && databaseUrl === undefined) {
    throw new ConfigError('DATABASE_DIRECT_URL', 'needs DATABASE_URL too (it is the session-mode way to the same database)');
  }
  const linkHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  const storage = storageVar(env, path.resolve(env.STORAGE_DIR || path.join(dataDir, 'backups')));
  return {
    nodeEnv,
    production,
    exposeErrors: nodeEnv === 'development',
    databaseUrl,
    databaseDirectUrl: databaseDirectUrl ?? databaseUrl,
    dataDir,
    storageDir: storage.kind === 'file' ? storage.dir : path.join(dataDir, 'backups'),
    storage,
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
    rateLimitPerMinute: intVar(env, 'RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000),
    corsOrigins: originsVar(env, 'CORS_ORIGINS'),
    smtpUrl: smtpVar(env, 'SMTP_URL'),
    mailFrom: mailFromVar(env, 'MAIL_FROM', 'crm-data-admin <no-reply@localhost>'),
    emailLinkTtlSeconds: intVar(env, 'EMAIL_LINK_TTL_SECONDS', 259_200, 60, 30 * 24 * 3600),
    webhookAllowPrivate: boolVar(env, 'WEBHOOK_ALLOW_PRIVATE', false),
    graphqlStatementTimeoutMs: intVar(env, 'GRAPHQL_STATEMENT_TIMEOUT_MS', 5_000, 0, 3_600_000),
    // At most the pool's 20 connections; more would let one organization hold all of them.
    graphqlDbConcurrencyPerOrg: intVar(env, 'GRAPHQL_DB_CONCURRENCY_PER_ORG', 4, 1, DB_POOL_SIZE),
    metricsToken: metricsTokenVar(env, 'METRICS_TOKEN'),
  };
}
