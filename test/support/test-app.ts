import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import pino from 'pino';
import WebSocket from 'ws';
import { createApp, type App, type AppOverrides } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { Role } from '../../src/config.ts';
import type { Clock } from '../../src/shared/clock.ts';
import type { Logger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

export interface TestApp {
  app: App;
  url: string;
  /** POST /graphql with a bearer token (or none). */
  gql<T = Record<string, unknown>>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** A graphql-ws client; disposed with the app. */
  ws(token: string | null): Client;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Another app's database (two processes on one database); by default a database of this app's own. */
  db?: TestDatabase;
  /** Where the app's queries go, e.g. PgBouncer in front of `db`; `db`'s own URL then serves as DATABASE_DIRECT_URL. */
  databaseUrl?: string;
  role?: Role;
  clock?: Clock;
  env?: Record<string, string>;
  log?: Logger;
  overrides?: AppOverrides;
}

/** A real app (HTTP on a random port, pg-boss, LISTEN/NOTIFY) on a database of the test's own. */
export async function startTestApp(opts: StartOptions = {}): Promise<TestApp & { db: TestDatabase }> {
  const db = opts.db ?? (await createTestDatabase());
  // A DATA_DIR (and so STORAGE_DIR) of this app's own: no files shared with other tests or earlier runs.
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'crm-data-admin-app-'));
  // Test files send many requests with one token: the rate limit is off unless a test sets RATE_LIMIT_PER_MINUTE.
  const config = loadConfig({ NODE_ENV: 'test', APP_SECRET: TEST_SECRET, DATA_DIR: dataDir, RATE_LIMIT_PER_MINUTE: '0', ...opts.env });
  const app = await createApp({
    config,
    databaseUrl: opts.databaseUrl ?? db.url,
    databaseDirectUrl: db.url,
    appSecret: TEST_SECRET,
    role: opts.role ?? 'all',
    clock: opts.clock,
    log: opts.log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    listen: { host: '127.0.0.1', port: 0 },
    overrides: opts.overrides,
  });
  const url = app.http?.url ?? '';
  const clients: Client[] = [];
  return {
    app,
    db,
    url,
    gql: (token, query, variables) => postGraphQL(url, token, query, variables),
    ws: (token) => {
      const client = createClient({
        url: `${url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const c of clients) await c.dispose();
      await app.close();
      if (!opts.db) await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function postGraphQL<T>(
  url: string,
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLResponse<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: res.status, ...body };
}

/** The first `extensions.code` of a response, for terse assertions. */
export const codeOf = (res: GraphQLResponse<unknown>): string | undefined => res.errors?.[0]?.extensions?.code;

/** Collects a subscription's events; `next(n)` waits for the n-th. */
export function subscribe<T = Record<string, unknown>>(client: Client, query: string, variables?: Record<string, unknown>) {
  const events: T[] = [];
  const errors: unknown[] = [];
  const waiters: (() => void)[] = [];
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        events.push(value.data as T);
        if (value.errors) errors.push(value.errors);
        waiters.splice(0).forEach((w) => w());
      },
      error: (err) => {
        errors.push(err);
        waiters.splice(0).forEach((w) => w());
      },
      complete: () => undefined,
    },
  );
  const until = async (predicate: () => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (errors.length > 0) throw new Error(`subscription error: ${JSON.stringify(errors[0])}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(events)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
  return {
    events,
    errors,
    dispose,
    /** Resolves once `count` events have arrived. */
    next: (count = events.length + 1, timeoutMs = 10_000) => until(() => events.length >= count, timeoutMs, `${count} events`),
    /** Resolves once an event matches. */
    waitFor: (predicate: (event: T) => boolean, timeoutMs = 10_000) =>
      until(() => events.some(predicate), timeoutMs, 'a matching event').then(() => events.find(predicate)!),
    /** Resolves once the connection is acknowledged and the subscription is live on the server. */
    errorsSoFar: () => errors,
  };
}
