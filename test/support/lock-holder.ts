import pg from 'pg';

export interface LockHolder {
  /** Resolves once `count` sessions wait for this holder, directly or queued behind one that does. */
  waiters(count: number, timeoutMs?: number): Promise<void>;
  /** Commits the holding transaction: the waiters proceed in the order they queued. */
  release(): Promise<void>;
}

/**
 * Forces an interleaving instead of hoping for it: a connection of its own takes a lock in an open transaction
 * (`lock` runs there); operations fired next queue behind it one at a time (wait for each with `waiters`), and
 * PostgreSQL grants them in that order once the holder commits. Each then sees what the one before it committed.
 */
export async function holdLock(url: string, lock: (client: pg.Client) => Promise<unknown>): Promise<LockHolder> {
  const client = new pg.Client({ connectionString: url, application_name: 'test-lock-holder' });
  await client.connect();
  let holderPid: number;
  try {
    await client.query('begin');
    holderPid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    await lock(client);
  } catch (error) {
    await client.end();
    throw error;
  }
  return {
    waiters: async (count, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const queued = await queuedBehind(client, holderPid);
        if (queued >= count) return;
        if (Date.now() > deadline) throw new Error(`expected ${count} sessions waiting for the lock holder, saw ${queued}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    release: async () => {
      try {
        await client.query('commit');
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Sessions blocked by the holder, or by a session so blocked (a second waiter queues behind the first). Other
 * lock waits of the database (the job queue's own, say) are not counted.
 */
async function queuedBehind(client: pg.Client, holderPid: number): Promise<number> {
  // The holder's transaction is open, and PostgreSQL serves pg_stat_activity from a snapshot taken on its first
  // read in a transaction: without clearing it, a waiter that queued after the first poll would never be seen.
  await client.query('select pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ pid: number; blockers: number[] }>(
    `select pid, pg_blocking_pids(pid) as blockers from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
  );
  const chain = new Set([holderPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const row of rows) {
      if (!chain.has(row.pid) && row.blockers.some((pid) => chain.has(pid))) {
        chain.add(row.pid);
        grew = true;
      }
    }
  }
  return chain.size - 1;
}

/**
 * Fires `first`, waits until it queues behind the held lock, fires `second`, waits until it queues too, then
 * releases: both ran at once, and `first` is granted the lock first.
 */
export async function fireInOrder<A, B>(holder: LockHolder, first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
  let pending: [Promise<A>, Promise<B>] | undefined;
  try {
    const a = first();
    await holder.waiters(1);
    const b = second();
    await holder.waiters(2);
    pending = [a, b];
  } finally {
    await holder.release();
  }
  return Promise.all(pending);
}
