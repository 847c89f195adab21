/**
 * Activity stream benchmark: how a page of `activityStream` costs at millions of rows. The stream is never pruned
 * (it is the audit trail), so a deep page must cost what the first costs. Measures ActivityService.list (the
 * keyset query behind the GraphQL field) for the first page, a page half-way down, and the subjectType / subjectId
 * filters, against the same-run baseline of an OFFSET page at the same depth.
 * Target: every keyset page within 3× the first page (flat with depth) and at least 10× faster than OFFSET at
 * the same depth. Absolute figures depend on the machine's load; the plan printed shows the index range scan.
 *
 *   node --import tsx bench/activity-stream.ts [--rows 1000000] [--repeat 30]
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { createDatabase } from '../src/db/client.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { encodeCursor } from '../src/graphql/connection.ts';
import { ActivityService } from '../src/modules/activity/activity.service.ts';
import { createBenchDatabase } from './bench-database.ts';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, repeat: { type: 'string', default: '30' } } });
const rows = Number(args.rows);
const repeat = Number(args.repeat);

const database = await createBenchDatabase('crm_bench_activity');
const { pool, db, close } = createDatabase(database.url, { max: 4 });
try {
  await runMigrations(pool);
  const { rows: orgs } = await pool.query<{ id: string }>(`insert into organizations (name) values ('A'), ('B') returning id`);
  const [a, b] = [orgs[0]!.id, orgs[1]!.id];
  const started = performance.now();
  // Two organizations interleaved; 1 subject in 50 is a backup with 4 events, the rest spread over types.
  await pool.query(
    `insert into activity_events (organization_id, kind, summary, subject_type, subject_id, data, created_at)
     select case when i % 2 = 0 then $1::uuid else $2::uuid end,
            (array['backup.started','backup.completed','retention.sweep_batch','import.completed','webhook.endpoint_updated'])[1 + i % 5],
            'bench event',
            (array['BACKUP','RETENTION_POLICY','IMPORT','CONTACT','WEBHOOK_ENDPOINT'])[1 + (i / 2) % 5],
            'subject-' || (i / 8),
            jsonb_build_object('count', i),
            now() - make_interval(secs => $3::int - i)
     from generate_series(1, $3::int) as i`,
    [a, b, rows],
  );
  await pool.query('analyze activity_events');
  console.log(`inserted ${rows} activity rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const activity = new ActivityService(db);
  const { rows: mid } = await pool.query<{ id: number }>(
    `select id from activity_events where organization_id = $1 order by id desc offset $2 limit 1`, [a, Math.floor(rows / 4)]);
  const middle = encodeCursor([mid[0]!.id]);
  const median = async (fn: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < repeat; i += 1) {
      const t0 = performance.now();
      await fn();
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    return times[Math.floor(times.length / 2)]!;
  };
  const page = (extra: Record<string, string>) => () => activity.list(a, { first: 20, ...extra }).then((c) => c.nodes);
  const first = await median(page({}));
  const deep = await median(page({ after: middle }));
  const byType = await median(page({ subjectType: 'IMPORT', after: middle }));
  const bySubject = await median(page({ subjectId: `subject-${Math.floor(rows / 16)}` }));
  const offset = await median(() =>
    pool.query('select * from activity_events where organization_id = $1 order by id desc offset $2 limit 21', [a, Math.floor(rows / 4)]));

  const plan = await pool.query(
    `explain (analyze, buffers) select * from activity_events where organization_id = $1 and id < $2 order by id desc limit 21`, [a, mid[0]!.id]);
  console.log(plan.rows.map((r: Record<string, string>) => `  ${r['QUERY PLAN']}`).join('\n'));
  const report = (name: string, ms: number) => {
    const met = ms <= Math.max(first * 3, 1) && ms * 10 <= offset;
    console.log(`${name.padEnd(34)} ${ms.toFixed(2).padStart(8)} ms   baseline OFFSET ${offset.toFixed(2)} ms   ratio ${(ms / offset).toFixed(3)}   ${met ? 'met' : 'MISSED'}`);
  };
  console.log(`activity stream, ${rows} rows, median of ${repeat} (target: ≤ 3× the first page, ${first.toFixed(2)} ms, and ≥ 10× faster than OFFSET)`);
  report('first page', first);
  report('page half-way down (keyset)', deep);
  report('subjectType filter, half-way', byType);
  report('one subject (subjectId)', bySubject);
} finally {
  await close();
  await database.drop();
}
