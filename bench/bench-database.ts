import { randomBytes } from 'node:crypto';
import { adminQuery, databaseUrl } from '../src/db/admin.ts';

/** The server benchmarks create their databases on. */
export const BENCH_SERVER_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database of the benchmark's own (callers migrate it), named `<prefix>_<random>`. */
export async function createBenchDatabase(prefix: string): Promise<BenchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await adminQuery(BENCH_SERVER_URL, `create database "${name}"`);
  return {
    name,
    url: databaseUrl(BENCH_SERVER_URL, name),
    drop: () => adminQuery(BENCH_SERVER_URL, `drop database if exists "${name}" with (force)`),
  };
}
