import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

const SECRET = 'x'.repeat(32);

describe('loadConfig', () => {
  it('has the documented defaults (API.md §1)', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nodeEnv: undefined,
      production: false,
      exposeErrors: false,
      databaseUrl: undefined,
      dataDir: path.resolve('./.data'),
      storageDir: path.resolve('./.data/backups'),
      port: 4000,
      host: '127.0.0.1',
      publicUrl: 'http://127.0.0.1:4000',
      appSecret: undefined,
      logLevel: 'info',
      downloadLinkTtlSeconds: 900,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgresql://u:p@db:5432/crm',
      DATA_DIR: '/var/lib/crm',
      STORAGE_DIR: '/mnt/backups',
      PORT: '8080',
      HOST: '0.0.0.0',
      PUBLIC_URL: 'https://crm.example.com/',
      APP_SECRET: SECRET,
      LOG_LEVEL: 'warn',
      DOWNLOAD_LINK_TTL_SECONDS: '60',
    });
    expect(config).toMatchObject({
      production: true,
      databaseUrl: 'postgresql://u:p@db:5432/crm',
      dataDir: '/var/lib/crm',
      storageDir: '/mnt/backups',
      port: 8080,
      host: '0.0.0.0',
      publicUrl: 'https://crm.example.com',
      appSecret: SECRET,
      logLevel: 'warn',
      downloadLinkTtlSeconds: 60,
    });
  });

  it('derives links from the port, and from localhost when listening on every interface', () => {
    expect(loadConfig({ PORT: '5000' }).publicUrl).toBe('http://127.0.0.1:5000');
    expect(loadConfig({ HOST: '0.0.0.0' }).publicUrl).toBe('http://localhost:4000');
    expect(loadConfig({ HOST: '::' }).publicUrl).toBe('http://localhost:4000');
    expect(loadConfig({ DATA_DIR: '/d' }).storageDir).toBe('/d/backups');
  });

  it('reads CORS_ORIGINS as exact origins, none by default', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: ' ' }).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
  });

  it('names the exact origin when CORS_ORIGINS has a path or trailing slash', () => {
    expect(() => loadConfig({ CORS_ORIGINS: 'https://app.example.com/' })).toThrow(
      'did you mean "https://app.example.com"?',
    );
  });

  it('has import limits a real CRM file never reaches, and reads each IMPORT_MAX_* variable', () => {
    expect(loadConfig({})).toMatchObject({
      importWorkerMemoryMb: 512,
      importLimits: {
        maxEntryBytes: 2 * 1024 ** 3,
        maxTotalBytes: 8 * 1024 ** 3,
        maxCompressionRatio: 200,
        maxZipEntries: 10_000,
        maxColumns: 512,
        maxSharedStringsBytes: 128 * 1024 ** 2,
        maxRecordBytes: 1024 ** 2,
        maxManifestBytes: 1024 ** 2,
      },
    });
    const config = loadConfig({
      IMPORT_MAX_ENTRY_BYTES: '1000000',
      IMPORT_MAX_TOTAL_BYTES: '2000000',
      IMPORT_MAX_COMPRESSION_RATIO: '50',
      IMPORT_MAX_ZIP_ENTRIES: '20',
      IMPORT_MAX_COLUMNS: '64',
      IMPORT_MAX_SHARED_STRINGS_BYTES: '4096',
      IMPORT_MAX_RECORD_BYTES: '2048',
      IMPORT_MAX_MANIFEST_BYTES: '8192',
      IMPORT_WORKER_MEMORY_MB: '96',
    });
    expect(config.importWorkerMemoryMb).toBe(96);
    expect(config.importLimits).toEqual({
      maxEntryBytes: 1_000_000,
      maxTotalBytes: 2_000_000,
      maxCompressionRatio: 50,
      maxZipEntries: 20,
      maxColumns: 64,
      maxSharedStringsBytes: 4096,
      maxRecordBytes: 2048,
      maxManifestBytes: 8192,
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '', APP_SECRET: '', LOG_LEVEL: '' })).toMatchObject({
      port: 4000,
      databaseUrl: undefined,
      appSecret: undefined,
      logLevel: 'info',
    });
  });

  it.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '65536' }],
    ['PORT', { PORT: '80.5' }],
    ['PORT', { PORT: ' 80' }],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/db' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'ftp://example.com' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'example.com' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['APP_SECRET', { APP_SECRET: 'short' }],
    ['APP_SECRET', { NODE_ENV: 'production' }],
    ['DOWNLOAD_LINK_TTL_SECONDS', { DOWNLOAD_LINK_TTL_SECONDS: '1' }],
    ['IMPORT_MAX_BYTES', { IMPORT_MAX_BYTES: '10' }],
    ['IMPORT_MAX_ENTRY_BYTES', { IMPORT_MAX_ENTRY_BYTES: '1k' }],
    ['IMPORT_MAX_TOTAL_BYTES', { IMPORT_MAX_TOTAL_BYTES: '0' }],
    ['IMPORT_MAX_COMPRESSION_RATIO', { IMPORT_MAX_COMPRESSION_RATIO: '1' }],
    ['IMPORT_MAX_ZIP_ENTRIES', { IMPORT_MAX_ZIP_ENTRIES: '-5' }],
    ['IMPORT_MAX_COLUMNS', { IMPORT_MAX_COLUMNS: '16385' }],
    ['IMPORT_MAX_SHARED_STRINGS_BYTES', { IMPORT_MAX_SHARED_STRINGS_BYTES: '1.5' }],
    ['IMPORT_MAX_RECORD_BYTES', { IMPORT_MAX_RECORD_BYTES: '100' }],
    ['IMPORT_MAX_MANIFEST_BYTES', { IMPORT_MAX_MANIFEST_BYTES: 'big' }],
    ['IMPORT_WORKER_MEMORY_MB', { IMPORT_WORKER_MEMORY_MB: '8' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: '*' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://app.example.com/' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://app.example.com/path' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://App.example.com' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://app.example.com:443' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'app.example.com' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'ftp://app.example.com' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'null' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://a.example.com,,https://b.example.com' }],
  ])('stops with a message naming %s for %o', (variable, env) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
  });

  it.each([
    [{}, false],
    [{ NODE_ENV: '' }, false],
    [{ NODE_ENV: 'test' }, false],
    [{ NODE_ENV: 'production', APP_SECRET: SECRET }, false],
    [{ NODE_ENV: 'development' }, true],
  ])('shows internal errors to clients only for an explicit NODE_ENV=development: %o', (env, exposeErrors) => {
    expect(loadConfig(env).exposeErrors).toBe(exposeErrors);
  });

  it('does not require APP_SECRET when NODE_ENV is unset or development', () => {
    expect(loadConfig({}).appSecret).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'development' }).appSecret).toBeUndefined();
  });

  it('never echoes the value of APP_SECRET in its message', () => {
    expect(() => loadConfig({ APP_SECRET: 'tooshort-secret' })).toThrow(/APP_SECRET must be at least 32 characters$/);
  });

  it('reads nothing but the env object it is given', () => {
    process.env.PORT = '1234';
    try {
      expect(loadConfig({}).port).toBe(4000);
    } finally {
      delete process.env.PORT;
    }
  });
  it('has WebSocket limits with safe defaults, each configurable and bounded', () => {
    expect(loadConfig({})).toMatchObject({
      wsMaxPayloadBytes: 1024 * 1024,
      wsInitTimeoutMs: 10_000,
      wsMaxConnectionsPerToken: 20,
      wsMaxSubscriptionsPerConnection: 50,
    });
    const env = { WS_MAX_PAYLOAD_BYTES: '4096', WS_INIT_TIMEOUT_MS: '500', WS_MAX_CONNECTIONS_PER_TOKEN: '2', WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3' };
    expect(loadConfig(env)).toMatchObject({ wsMaxPayloadBytes: 4096, wsInitTimeoutMs: 500, wsMaxConnectionsPerToken: 2, wsMaxSubscriptionsPerConnection: 3 });
    expect(() => loadConfig({ WS_MAX_CONNECTIONS_PER_TOKEN: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ WS_MAX_PAYLOAD_BYTES: '10' })).toThrow(/WS_MAX_PAYLOAD_BYTES/);
  });
});
