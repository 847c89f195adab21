import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileStorageConfig, S3StorageConfig, StorageConfig } from './config.ts';
import type { ImportLimits } from './import/import-limits.ts';

/**
 * The parsers of single environment variables that loadConfig (config.ts) composes: each reads one variable (or
 * one group, like STORAGE_URL with its S3 settings), returns a typed value or its default, and throws a
 * ConfigError naming the variable and the rule it broke.
 */

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    rule: string,
  ) {
    super(`Invalid configuration: ${variable} ${rule}`);
    this.name = 'ConfigError';
  }
}

export function intVar(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

export function urlVar(env: Env, name: string, protocols: string[]): string | undefined {
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
export function originsVar(env: Env, name: string): string[] {
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
export function storageVar(env: Env, storageDir: string): StorageConfig {
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
export function smtpVar(env: Env, name: string): string | undefined {
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
export function metricsTokenVar(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^[\x21-\x7e]{16,512}$/.test(raw)) {
    throw new ConfigError(name, 'must be 16 to 512 printable characters without spaces');
  }
  return raw;
}

/** MAIL_FROM: `address@host` or `Name <address@host>`, on one line. */
export function mailFromVar(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/.test(raw.trim())) {
    throw new ConfigError(name, `must be an email address like "Backups <backups@example.com>" (got "${raw}")`);
  }
  return raw.trim();
}

export function boolVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be true or false (got "${raw}")`);
}

/** IMPORT_MAX_*: defaults far beyond a real CRM file (the values of import-limits.ts DEFAULT_IMPORT_LIMITS). */
export function importLimitsOf(env: Env): ImportLimits {
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
