/**
 * A worker process for the crash test: `node --import tsx test/support/backup-worker.ts`, configured by env
 * (DATABASE_URL, STORAGE_DIR, APP_SECRET, BACKUP_CHUNK_DELAY_MS). Prints `ready` once its job workers run.
 * The test kills it with SIGKILL mid-backup; nothing here gets a chance to clean up, which is the point.
 */
import 'reflect-metadata';
import pino from 'pino';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';

const env = process.env;
const app = await createApp({
  config: loadConfig({ NODE_ENV: 'test', APP_SECRET: env.APP_SECRET, DATA_DIR: env.DATA_DIR, STORAGE_DIR: env.STORAGE_DIR }),
  databaseUrl: env.DATABASE_URL ?? '',
  appSecret: env.APP_SECRET ?? '',
  role: 'worker',
  log: pino({ level: env.TEST_LOG_LEVEL ?? 'silent' }, pino.destination(2)),
});
app.services.backups.tune({ chunkDelayMs: Number(env.BACKUP_CHUNK_DELAY_MS ?? 0) });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
process.stdout.write('ready\n');
