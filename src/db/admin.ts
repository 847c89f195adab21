import pg from 'pg';

/** The same server and credentials, naming another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * A short-lived connection of its own, for server-level statements (CREATE/DROP DATABASE) that may not run
 * inside a transaction or on a pooled connection another caller shares.
 */
export async function withAdminClient<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  await withAdminClient(serverUrl, (client) => client.query(sql));
}
