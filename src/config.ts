import path from 'node:path';
import type { ImportLimits } from './import/import-limits.ts';
import {
  boolVar,
  ConfigError,
  importLimitsOf,
  intVar,
  mailFromVar,
  metricsTokenVar,
  originsVar,
  smtpVar,
  storageVar,
  urlVar,
  type Env,
} from './config-vars.ts';

export { ConfigError };

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


/** Connections in each process's main database pool. */
export const DB_POOL_SIZE = 20;

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

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
