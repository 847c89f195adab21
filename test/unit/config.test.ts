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
      databaseDirectUrl: undefined,
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

  it('uses DATABASE_URL for session-bound work unless DATABASE_DIRECT_URL is set', () => {
    const pooled = 'postgres://app@pgbouncer:6432/crm';
    expect(loadConfig({ DATABASE_URL: pooled }).databaseDirectUrl).toBe(pooled);
    const config = loadConfig({ DATABASE_URL: pooled, DATABASE_DIRECT_URL: 'postgresql://app@db:5432/crm' });
    expect(config).toMatchObject({ databaseUrl: pooled, databaseDirectUrl: 'postgresql://app@db:5432/crm' });
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

  it('reads STORAGE_URL: file:// + STORAGE_DIR by default, a file:/// folder, or an s3:// bucket and prefix', () => {
    expect(loadConfig({ DATA_DIR: '/d' }).storage).toEqual({ kind: 'file', dir: '/d/backups' });
    expect(loadConfig({ STORAGE_DIR: '/mnt/b' }).storage).toEqual({ kind: 'file', dir: '/mnt/b' });
    expect(loadConfig({ STORAGE_URL: 'file:///srv/archives/' })).toMatchObject({ storage: { kind: 'file', dir: '/srv/archives' }, storageDir: '/srv/archives' });
    expect(loadConfig({ STORAGE_URL: 's3://crm-backups' }).storage).toEqual({
      kind: 's3', bucket: 'crm-backups', prefix: '', endpoint: undefined, forcePathStyle: false, region: undefined, credentials: undefined,
    });
    expect(
      loadConfig({
        STORAGE_URL: 's3://crm.backups-1/prod/archives/',
        S3_ENDPOINT: 'http://minio:9000/',
        S3_FORCE_PATH_STYLE: 'true',
        AWS_REGION: 'ap-southeast-1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI',
      }).storage,
    ).toEqual({
      kind: 's3',
      bucket: 'crm.backups-1',
      prefix: 'prod/archives',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      region: 'ap-southeast-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI' },
    });
    expect(loadConfig({ STORAGE_URL: 's3://b-1/p', AWS_DEFAULT_REGION: 'eu-west-1', S3_FORCE_PATH_STYLE: '0' }).storage).toMatchObject({
      region: 'eu-west-1',
      forcePathStyle: false,
    });
    const withSession = loadConfig({ STORAGE_URL: 's3://b-1', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_SESSION_TOKEN: 't' });
    expect(withSession.storage).toMatchObject({ credentials: { accessKeyId: 'a', secretAccessKey: 'b', sessionToken: 't' } });
  });

  it.each([
    [{ STORAGE_URL: 'http://bucket/prefix' }, 'STORAGE_URL', /must be file:\/\/\/absolute\/path or s3:\/\/bucket\/prefix \(got "http:\/\/bucket\/prefix"\)$/],
    [{ STORAGE_URL: 'backups' }, 'STORAGE_URL', /must be file:\/\/\/absolute\/path or s3:\/\/bucket\/prefix/],
    [{ STORAGE_URL: '/var/backups' }, 'STORAGE_URL', /must be file:\/\/\/absolute\/path/],
    [{ STORAGE_URL: 'file://relative/dir' }, 'STORAGE_URL', /three slashes/],
    [{ STORAGE_URL: 'file:///' }, 'STORAGE_URL', /not the file system root/],
    [{ STORAGE_URL: 's3://' }, 'STORAGE_URL', /valid bucket/],
    [{ STORAGE_URL: 's3:///prefix' }, 'STORAGE_URL', /valid bucket/],
    [{ STORAGE_URL: 's3://My_Bucket/x' }, 'STORAGE_URL', /valid bucket/],
    [{ STORAGE_URL: 's3://ab' }, 'STORAGE_URL', /valid bucket/],
    [{ STORAGE_URL: 's3://bucket..name' }, 'STORAGE_URL', /valid bucket/],
    [{ STORAGE_URL: 's3://bucket/a//b' }, 'STORAGE_URL', /prefix must be/],
    [{ STORAGE_URL: 's3://bucket/a/../b' }, 'STORAGE_URL', /prefix must be/],
    [{ STORAGE_URL: 's3://bucket/a b' }, 'STORAGE_URL', /prefix must be/],
    [{ STORAGE_URL: 's3://bucket/p?region=x' }, 'STORAGE_URL', /without port, query or fragment/],
    [{ STORAGE_URL: 's3://bucket:9000/p' }, 'STORAGE_URL', /without port, query or fragment/],
    [{ STORAGE_URL: 's3://AKID:secret@bucket/p' }, 'STORAGE_URL', /must not hold credentials; use AWS_ACCESS_KEY_ID/],
    [{ STORAGE_URL: 's3://bucket', STORAGE_DIR: '/x' }, 'STORAGE_URL', /both set/],
    [{ STORAGE_URL: 's3://bucket', S3_ENDPOINT: 'minio:9000' }, 'S3_ENDPOINT', /must use http: or https:/],
    [{ STORAGE_URL: 's3://bucket', S3_FORCE_PATH_STYLE: 'yes' }, 'S3_FORCE_PATH_STYLE', /must be true or false \(got "yes"\)/],
    [{ S3_ENDPOINT: 'http://minio:9000' }, 'S3_ENDPOINT', /apply only with STORAGE_URL=s3:/],
    [{ STORAGE_URL: 'file:///srv/a', S3_FORCE_PATH_STYLE: 'true' }, 'S3_ENDPOINT', /apply only with STORAGE_URL=s3:/],
    [{ STORAGE_URL: 's3://bucket', AWS_ACCESS_KEY_ID: 'AKID' }, 'AWS_SECRET_ACCESS_KEY', /is required/],
    [{ STORAGE_URL: 's3://bucket', AWS_SECRET_ACCESS_KEY: 'very-secret' }, 'AWS_ACCESS_KEY_ID', /is required/],
  ])('refuses storage settings %o with a message naming the variable', (env, variable, message) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
    expect((error as ConfigError).message).toMatch(message);
    expect((error as ConfigError).message).not.toMatch(/secret/);
  });

  it('reads METRICS_TOKEN verbatim, unset (open /metrics) by default', () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: '' }).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: 'scrape-Token_0123456789=' }).metricsToken).toBe('scrape-Token_0123456789=');
  });

  it('never echoes the value of METRICS_TOKEN in its message', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short-token' })).toThrow(
      /^Invalid configuration: METRICS_TOKEN must be 16 to 512 printable characters without spaces$/,
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
    ['DATABASE_DIRECT_URL', { DATABASE_URL: 'postgres://pgbouncer:6432/crm', DATABASE_DIRECT_URL: 'not a url' }],
    ['DATABASE_DIRECT_URL', { DATABASE_URL: 'postgres://pgbouncer:6432/crm', DATABASE_DIRECT_URL: 'mysql://db/crm' }],
    ['DATABASE_DIRECT_URL', { DATABASE_DIRECT_URL: 'postgres://db:5432/crm' }],
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
    ['METRICS_TOKEN', { METRICS_TOKEN: 'too-short' }],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'has a space inside it 0123456789' }],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'x'.repeat(513) }],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'non-ascii-token-\u00e9\u00e9\u00e9\u00e9\u00e9' }],
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

  it('reads email and webhook settings: unset SMTP_URL sends nothing; bad values name the variable and hide passwords', () => {
    expect(loadConfig({})).toMatchObject({ smtpUrl: undefined, emailLinkTtlSeconds: 259_200, webhookAllowPrivate: false, mailFrom: 'crm-data-admin <no-reply@localhost>' });
    const env = { SMTP_URL: 'smtps://u:p@mail.example.com:465', MAIL_FROM: 'Backups <backups@example.com>', EMAIL_LINK_TTL_SECONDS: '3600', WEBHOOK_ALLOW_PRIVATE: 'true' };
    expect(loadConfig(env)).toMatchObject({ smtpUrl: 'smtps://u:p@mail.example.com:465', mailFrom: 'Backups <backups@example.com>', emailLinkTtlSeconds: 3600, webhookAllowPrivate: true });
    expect(loadConfig({ MAIL_FROM: 'ops@example.com' }).mailFrom).toBe('ops@example.com');
    expect(() => loadConfig({ SMTP_URL: 'http://u:hunter2@mail.example.com' })).toThrow(/^Invalid configuration: SMTP_URL must be a URL like smtp:\/\/host:port/);
    expect(() => loadConfig({ SMTP_URL: 'http://u:hunter2@mail.example.com' })).not.toThrow(/hunter2/);
    expect(() => loadConfig({ MAIL_FROM: 'not an address' })).toThrow(/MAIL_FROM/);
    expect(() => loadConfig({ MAIL_FROM: 'a@b.c\r\nBcc: x@y.z' })).toThrow(/MAIL_FROM/);
    expect(() => loadConfig({ EMAIL_LINK_TTL_SECONDS: '5' })).toThrow(/EMAIL_LINK_TTL_SECONDS/);
    expect(() => loadConfig({ WEBHOOK_ALLOW_PRIVATE: 'yes' })).toThrow(/WEBHOOK_ALLOW_PRIVATE must be true or false/);
  });

  it('RATE_LIMIT_PER_MINUTE defaults to 600, takes 0 to disable the limit, and refuses anything but a whole number', () => {
    expect(loadConfig({}).rateLimitPerMinute).toBe(600);
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '0' }).rateLimitPerMinute).toBe(0);
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '30' }).rateLimitPerMinute).toBe(30);
    for (const bad of ['-1', '1.5', 'lots', '10000001']) {
      expect(() => loadConfig({ RATE_LIMIT_PER_MINUTE: bad })).toThrow(/RATE_LIMIT_PER_MINUTE must be a whole number from 0 to 1000000/);
    }
  });

  it('has GraphQL database limits with safe defaults, each configurable and bounded', () => {
    expect(loadConfig({})).toMatchObject({ graphqlStatementTimeoutMs: 5_000, graphqlDbConcurrencyPerOrg: 4 });
    const env = { GRAPHQL_STATEMENT_TIMEOUT_MS: '0', GRAPHQL_DB_CONCURRENCY_PER_ORG: '20' };
    expect(loadConfig(env)).toMatchObject({ graphqlStatementTimeoutMs: 0, graphqlDbConcurrencyPerOrg: 20 });
    // More than the pool's 20 connections would let one organization take all of them.
    expect(() => loadConfig({ GRAPHQL_DB_CONCURRENCY_PER_ORG: '21' })).toThrow(/GRAPHQL_DB_CONCURRENCY_PER_ORG must be a whole number from 1 to 20/);
    expect(() => loadConfig({ GRAPHQL_DB_CONCURRENCY_PER_ORG: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ GRAPHQL_STATEMENT_TIMEOUT_MS: '5s' })).toThrow(/GRAPHQL_STATEMENT_TIMEOUT_MS/);
  });
});
