/**
 * A worker process for the crash tests: `node --import tsx test/support/crash-worker.ts`, configured by env
 * (DATABASE_URL, STORAGE_DIR or STORAGE_URL with S3_ENDPOINT, S3_FORCE_PATH_STYLE, AWS_* and S3_PART_SIZE, APP_SECRET; BACKUP_CHUNK_DELAY_MS slows its blob store's uploads, IMPORT_BATCH_DELAY_MS
 * and IMPORT_BATCH_SIZE its import batches). Prints `ready` once its job workers run. The test kills it with
 * SIGKILL mid-job; nothing here gets a chance to clean up, which is the point.
 */
import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { writeBatch, type BatchWriter } from '../../src/modules/restore/import-batch.ts';
import { createBlobStore } from '../../src/storage/blob-store-factory.ts';
import { slowBlobStore } from './slow-blob-store.ts';

const env = process.env;
const config = loadConfig({
  NODE_ENV: 'test',
  APP_SECRET: env.APP_SECRET,
  DATA_DIR: env.DATA_DIR,
  STORAGE_DIR: env.STORAGE_DIR,
  STORAGE_URL: env.STORAGE_URL,
  S3_ENDPOINT: env.S3_ENDPOINT,
  S3_FORCE_PATH_STYLE: env.S3_FORCE_PATH_STYLE,
  AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
});
const log = pino({ level: env.TEST_LOG_LEVEL ?? 'silent' }, pino.destination(2));
// S3 parts of the minimum size (5 MiB), so a test archive spans several parts.
const blobs = await createBlobStore(config.storage, log, { partSize: env.S3_PART_SIZE ? Number(env.S3_PART_SIZE) : undefined });
// The archive stream slowed down (a slower disk, in effect), so there is a "middle" to kill a backup in.
const storage = slowBlobStore(blobs.store, Number(env.BACKUP_CHUNK_DELAY_MS ?? 0));
// Each import batch waits before it writes (a slower database, in effect), so there is a "middle" to kill an import in.
const batchDelayMs = Number(env.IMPORT_BATCH_DELAY_MS ?? 0);
const slowBatches: BatchWriter = async (target, batch, notify) => {
  await sleep(batchDelayMs);
  return writeBatch(target, batch, notify);
};
const app = await createApp({
  listen: { host: '127.0.0.1', port: 0 }, // health and metrics on a port of its own: several may run at once
  config,
  databaseUrl: env.DATABASE_URL ?? '',
  appSecret: env.APP_SECRET ?? '',
  role: 'worker',
  log,
  overrides: {
    storage,
    importBatchWriter: slowBatches,
    imports: env.IMPORT_BATCH_SIZE ? { batchSize: Number(env.IMPORT_BATCH_SIZE) } : {},
  },
});
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
process.stdout.write('ready\n');
