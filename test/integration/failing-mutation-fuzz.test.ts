import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLInputType } from 'graphql';
import type { HostResolver } from '../../src/modules/webhooks/webhook-address.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { createRecords } from '../support/foundation-helpers.ts';
import { MINIMAL_INPUTS } from '../support/isolation-matrix.table.ts';
import { orgDigest } from '../support/org-snapshot.ts';
import { useOrgApp, type OrgApp } from '../support/org-app.ts';
import { documentOf, isEnumType, isInputObjectType, isNonNullType, loadSchema, operations, unwrap, type Operation } from '../support/schema-operations.ts';

/**
 * Cases per run (FUZZ_RUNS for more or fewer), spread over LANES organizations that run in parallel. A run takes
 * well under a minute on a loaded machine; each run draws new cases (FUZZ_SEED replays one), so runs add up.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2_500);
const LANES = 8;
// Every host "resolves" to a public address, without DNS; the app runs no workers, so nothing is ever sent.
const resolver: HostResolver = async () => [{ address: '93.184.216.34', family: 4 }];
const mutations = operations(loadSchema()).filter((op) => op.kind === 'mutation');

const BAD_IDS = ['', 'not-an-id', '00000000-0000-0000-0000-000000000000', "'; drop table leads; --", '1e9', '-1', 'ffffffff-ffff-ffff-ffff-ffffffffffffx'];
const NUMBERS = [0, -1, -0, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 1, 1e308, -1e308, Number.MIN_VALUE];
const STRINGS = ['NaN', 'Infinity', '-Infinity', '', ' ', '\u0000', '\uD800', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👩‍👩‍👧', '<script>alert(1)</script>', '../../etc/passwd', '%s%n', '25:61', '9999-99-99', '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00.001Z'];

function deep(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { nested: value } : [value];
  return value;
}

/** Anything at all: random JSON, wrong types, huge and odd strings, deep shapes, edge numbers, bad ids. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.constantFrom(...STRINGS, ...BAD_IDS, ...NUMBERS, null, true, false, [], {}),
  fc.integer({ min: 1_000, max: 200_000 }).map((n) => '\u00e9'.repeat(n)),
  fc.integer({ min: 20, max: 2_000 }).map(deep),
  fc.double(),
);

/** A value of the argument's type, mostly plausible (own ids, enum values, minimal inputs) with junk inside. */
function valueOf(type: GraphQLInputType, ids: string[], depth = 0): fc.Arbitrary<unknown> {
  const { list, named } = unwrap(type);
  const required = isNonNullType(type);
  const one = (): fc.Arbitrary<unknown> => {
    if (named.name === 'ID') return fc.oneof(fc.constantFrom(...ids), fc.uuid(), fc.constantFrom(...BAD_IDS));
    if (isEnumType(named)) return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...named.getValues().map((v) => v.value)) }, fc.string());
    if (isInputObjectType(named)) {
      if (depth > 3) return fc.constant(MINIMAL_INPUTS[named.name] ?? {});
      const fields = Object.values(named.getFields());
      const shape: Record<string, fc.Arbitrary<unknown>> = Object.fromEntries(fields.map((f) => [f.name, valueOf(f.type, ids, depth + 1)]));
      const base = MINIMAL_INPUTS[named.name] ?? {};
      return fc
        .tuple(fc.record(shape, { requiredKeys: [] }), fc.boolean(), fc.option(fc.tuple(fc.string({ maxLength: 8 }), junk), { freq: 8 }))
        .map(([random, onMinimal, extra]) => ({ ...(onMinimal ? base : {}), ...random, ...(extra ? { [extra[0]]: extra[1] } : {}) }));
    }
    switch (named.name) {
      case 'Int':
        return fc.oneof(fc.integer({ min: -5, max: 200 }), fc.integer(), fc.constantFrom(...NUMBERS));
      case 'Float':
        return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(...NUMBERS));
      case 'Boolean':
        return fc.boolean();
      case 'DateTimeISO':
        return fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom(...STRINGS));
      default:
        return fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.webUrl(), fc.emailAddress(), fc.constantFrom(...STRINGS));
    }
  };
  const value = list ? fc.array(one(), { maxLength: 4 }) : one();
  const typed = required ? value : fc.option(value, { freq: 4 });
  return fc.oneof({ weight: 4, arbitrary: typed }, { weight: 1, arbitrary: junk });
}

/** One mutation with arguments: some left out, most of the type, some anything; plus an unknown one at times. */
function caseOf(ids: string[]): fc.Arbitrary<{ op: Operation; variables: Record<string, unknown> }> {
  return fc.constantFrom(...mutations).chain((op) =>
    fc.record(Object.fromEntries(op.field.args.map((arg) => [arg.name, valueOf(arg.type, ids)])), { requiredKeys: [] }).map((args) => ({
      op,
      variables: Object.fromEntries(Object.entries(args).map(([k, v]) => [`a_${k}`, v])),
    })),
  );
}

interface Lane {
  org: TestOrg;
  token: string;
  ids: string[];
  /** The digest of the organization's rows after its last case (the lane runs one case at a time, no workers). */
  digest: string;
}

/**
 * Random values and shapes for every mutation's arguments, sent over HTTP by several organizations at once
 * (ADMIN and STANDARD tokens): never a 5xx, never INTERNAL_SERVER_ERROR, /healthz keeps answering, and a refused
 * mutation writes nothing (a digest of every row the organization owns is the same before and after).
 */
describe('mutation fuzz: random arguments never crash, never write on refusal', () => {
  let s: OrgApp;
  const lanes: Lane[] = [];
  useOrgApp({ role: 'api', overrides: { webhooks: { resolver } } }, (ready) => (s = ready));
  beforeAll(async () => {
    for (let i = 0; i < LANES; i++) {
      const org = i === 0 ? s.org : await createOrg(s.t.app);
      const records = await createRecords(s.t.gql, org.admin.token, `Lane${i}`);
      const { rows } = await s.t.app.services.pool.query<{ id: string }>(
        'select id from backups where organization_id = $1 union all select id from webhook_endpoints where organization_id = $1',
        [org.organizationId],
      );
      const ids = [...Object.values(records), org.admin.userId, org.standard.userId, org.organizationId, ...rows.map((r) => r.id)];
      lanes.push({ org, token: i % 4 === 3 ? org.standard.token : org.admin.token, ids, digest: await orgDigest(s.t.app.services.pool, org.organizationId) });
    }
  });

  it(`${RUNS} cases over ${LANES} organizations in parallel`, async () => {
    const health: number[] = [];
    let fuzzing = true;
    const healthLoop = (async () => {
      while (fuzzing) {
        const res = await fetch(`${s.t.url}/healthz`).catch(() => undefined);
        health.push(res?.status ?? 0);
        await res?.arrayBuffer();
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const counts = { refused: 0, accepted: 0 };
    try {
      const seed = Number(process.env.FUZZ_SEED ?? Date.now());
      console.info(`mutation fuzz: FUZZ_SEED=${seed}`);
      await Promise.all(
        lanes.map((lane, i) =>
          fc.assert(
            fc.asyncProperty(caseOf(lane.ids), async ({ op, variables }) => {
              const before = lane.digest;
              const document = documentOf(op, op.field.args, 1);
              const res = await fetch(`${s.t.url}/graphql`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', authorization: `Bearer ${lane.token}` },
                body: JSON.stringify({ query: document, variables }),
              });
              const text = await res.text();
              lane.digest = await orgDigest(s.t.app.services.pool, lane.org.organizationId);
              const what = `${op.name} ${text.slice(0, 300)}`;
              expect(res.status, what).toBeLessThan(500);
              const body = JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] };
              expect(body.errors?.map((e) => e.extensions?.code) ?? [], what).not.toContain('INTERNAL_SERVER_ERROR');
              const refused = (body.errors?.length ?? 0) > 0 && (body.data?.[op.name] ?? null) === null;
              if (refused) {
                counts.refused++;
                expect(lane.digest, `${what}: a refused mutation wrote`).toBe(before);
              } else counts.accepted++;
            }),
            { numRuns: Math.ceil(RUNS / LANES), seed: seed + i, endOnFailure: false },
          ),
        ),
      );
    } finally {
      fuzzing = false;
      await healthLoop;
    }
    expect(health.length).toBeGreaterThan(0);
    expect(health.filter((status) => status !== 200)).toEqual([]);
    // The fuzz must reach the resolvers, not only the validation: some cases are accepted.
    expect(counts.accepted).toBeGreaterThan(0);
    expect(counts.refused).toBeGreaterThan(0);
    console.info(`mutation fuzz: ${counts.refused} refused, ${counts.accepted} accepted, /healthz answered ${health.length} times`);
  }, 300_000);
});
