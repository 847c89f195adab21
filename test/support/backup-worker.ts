/**
 * A worker process for the crash test: `node --import tsx test/support/backup-worker.ts`, configured by env
 * (DATABASE_URL, STORAGE_DIR, APP_SECRET, BACKUP_CHUNK_DELAY_MS). Prints `ready` once its job workers run.
 * The test kills it with SIGKILL mid-backup; nothing here gets a chance to clean up, which is the point.
 */
import 'reflect-metadata';
import pino from 'pino';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { FsBlobStore } from '../../src/storage/fs-blob-store.ts';
import { slowBlobStore } from './slow-blob-store.ts';

const env = process.env;
const config = loadConfig({ NODE_ENV: 'test', APP_SECRET: env.APP_SECRET, DATA_DIR: env.DATA_DIR, STORAGE_DIR: env.STORAGE_DIR });
// The archive stream slowed down (a slower disk, in effect), so there is a "middle" to kill the backup in.
const storage = slowBlobStore(new FsBlobStore(config.storageDir), Number(env.BACKUP_CHUNK_DELAY_MS ?? 0));
const app = await createApp({
  config,
  databaseUrl: env.DATABASE_URL ?? '',
  appSecret: env.APP_SECRET ?? '',
  role: 'worker',
  log: pino({ level: env.TEST_LOG_LEVEL ?? 'silent' }, pino.destination(2)),
  overrides: { storage },
});
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
process.stdout.write('ready\n');
