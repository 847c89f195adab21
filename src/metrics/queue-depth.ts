import type pg from 'pg';

/** Jobs of one queue in one pg-boss state. */
export interface QueueDepth {
  queue: string;
  state: 'created' | 'retry' | 'active';
  jobs: number;
}

/** A count stops here: past it, the queue is "very deep", and the scrape stays cheap however deep it gets. */
export const QUEUE_DEPTH_CAP = 10_000;

/** How long one reading serves scrapes: several Prometheus servers, or a fast scrape interval, cost one query. */
const CACHE_MS = 5_000;

/**
 * Live jobs per queue and state, read from pg-boss's job table through its partial index on live jobs, at most
 * QUEUE_DEPTH_CAP index entries per queue and state: a bounded query whatever the backlog. (pg-boss's own
 * counters on its queue table are refreshed only by a supervising worker, once a minute.)
 */
export function queueDepthReader(pool: pg.Pool, schema: string, queues: string[], now: () => number = Date.now): () => Promise<QueueDepth[]> {
  let cached: { at: number; rows: Promise<QueueDepth[]> } | undefined;
  return () => {
    const at = now();
    if (!cached || at - cached.at >= CACHE_MS) {
      const rows = readDepth(pool, schema, queues);
      cached = { at, rows };
      rows.catch(() => {
        if (cached?.rows === rows) cached = undefined; // a failed reading is not served from the cache
      });
    }
    return cached.rows;
  };
}

async function readDepth(pool: pg.Pool, schema: string, queues: string[]): Promise<QueueDepth[]> {
  const { rows } = await pool.query<QueueDepth>(
    `select q.name as queue, s.state,
            (select count(*)::int from (
               select 1 from ${schema}.job j where j.name = q.name and j.state = s.state::${schema}.job_state limit $2
             ) live) as jobs
       from unnest($1::text[]) as q(name)
       cross join unnest(array['created', 'retry', 'active']) as s(state)`,
    [queues, QUEUE_DEPTH_CAP],
  );
  return rows;
}
