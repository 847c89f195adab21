import { getNamedType, getNullableType, isListType, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildAppSchema } from '../../src/graphql/schema.ts';
import { LIST_SIZES, QUERY_COST } from '../../src/graphql/query-cost.ts';
import { MAX_COST, MAX_ROOT_FIELD_ALIASES } from '../../src/graphql/query-limits.ts';
import type { TestOrg } from '../support/factories.ts';
import type { RunningTestApp } from '../support/foundation-helpers.ts';
import { useOrgApp } from '../support/org-app.ts';

const aliases = (n: number, field: string) => Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ');

interface Answer {
  status: number;
  bytes: number;
  body: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** The attacks of issue 9 (hostile input), sent over real HTTP with a STANDARD token. */
describe('GraphQL cost attacks', () => {
  let t: RunningTestApp;
  let org: TestOrg;
  useOrgApp({}, (ready) => ({ t, org } = ready));

  async function post(query: string): Promise<Answer> {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${org.standard.token}` },
      body: JSON.stringify({ query }),
    });
    const text = await res.text();
    return { status: res.status, bytes: text.length, body: JSON.parse(text) as Answer['body'] };
  }

  /** Refused during validation (HTTP 400, no data), with a short answer, and the server still answers. */
  async function expectRefusedBeforeExecution(answer: Answer, message: RegExp): Promise<void> {
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(answer.body.errors?.[0]?.message).toMatch(message);
    expect(answer.status).toBe(400); // Apollo's answer to a validation failure: nothing was executed
    expect(answer.body.data).toBeUndefined();
    expect(answer.bytes).toBeLessThan(4_096); // not the 108 MB the unguarded bomb produced
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  }

  it('refuses the aliased __schema bomb (3,000 × types) with QUERY_TOO_COMPLEX and keeps answering', async () => {
    const types = 'types { name kind description fields { name description type { name kind ofType { name kind ofType { name } } } } }';
    const answer = await post(`{ __schema { ${aliases(3_000, types)} } }`);
    await expectRefusedBeforeExecution(answer, /^Query is too large: more than 5000 tokens$/);
    // Under the token cap, the same bomb is refused by its cost: introspection is costed like any field.
    await expectRefusedBeforeExecution(await post(`{ __schema { ${aliases(100, types)} } }`), /^Query cost \d+ exceeds the limit of 20000/);
  });

  it('refuses the aliased totalCount bomb (10,000 × contacts { totalCount }) before any count runs', async () => {
    const answer = await post(`{ ${aliases(10_000, 'contacts { totalCount }')} }`);
    await expectRefusedBeforeExecution(answer, /^Query is too large: more than 5000 tokens$/);
  });

  it('refuses counts spread over modules once their scans add up, and accepts a dashboard of four', async () => {
    const modules = ['leads', 'contacts', 'accounts', 'deals'];
    const dashboard = await post(`{ ${modules.map((m) => `${m}(first: 1) { totalCount }`).join(' ')} }`);
    expect(dashboard.body.errors).toBeUndefined();
    const many = modules.map((m) => aliases(3, `${m} { totalCount }`).replace(/a(\d+):/g, `${m}$1:`)).join(' ');
    await expectRefusedBeforeExecution(await post(`{ ${many} }`), /^Query cost \d+ exceeds/);
  });

  it('costs nodes selected inside inline and named fragments by their page, like nodes written out', async () => {
    const inline = 'contacts(first: 100) { ... on ContactConnection { totalCount nodes { ... on Contact { id firstName account { id name } } } } }';
    await expectRefusedBeforeExecution(await post(`{ ${aliases(8, inline)} }`), /^Query cost \d+ exceeds/);
    const named = `{ ${aliases(8, 'contacts(first: 100) { ...Page }')} } fragment Page on ContactConnection { totalCount nodes { ...Row } } fragment Row on Contact { id firstName account { id name } }`;
    await expectRefusedBeforeExecution(await post(named), /^Query cost \d+ exceeds/);
    const fits = await post(`{ ${aliases(2, 'contacts(first: 100) { ...Page }')} } fragment Page on ContactConnection { totalCount nodes { id } }`);
    expect(fits.body.errors).toBeUndefined();
  });

  it('gives a list without paging arguments its declared size (ImportJob.errors: up to 1,000 rows)', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const job = `importJob(id: "${id}") { errors { file row message } }`;
    const perJob = 1 + QUERY_COST + 1 + LIST_SIZES['ImportJob.errors']! * 3;
    const fits = Math.floor(MAX_COST / perJob);
    // Executed (an unknown id is NOT_FOUND, for a STANDARD user FORBIDDEN), not refused for its cost.
    const within = await post(`{ ${aliases(fits, job)} }`);
    expect(within.status).toBe(200);
    expect(within.body.errors?.map((e) => e.extensions?.code)).not.toContain('QUERY_TOO_COMPLEX');
    await expectRefusedBeforeExecution(await post(`{ ${aliases(fits + 1, job)} }`), new RegExp(`^Query cost ${(fits + 1) * perJob} exceeds`));
  });

  it('declares sizes only for unpaged list fields the schema has (a renamed field cannot keep a stale size)', async () => {
    const schema = await buildAppSchema();
    for (const key of Object.keys(LIST_SIZES)) {
      const [typeName, fieldName] = key.split('.') as [string, string];
      const type = schema.getType(typeName);
      const field = isObjectType(type) ? type.getFields()[fieldName] : undefined;
      expect(field, key).toBeDefined();
      expect(isListType(getNullableType(field!.type)), key).toBe(true);
      expect(field!.args.some((a) => a.name === 'first'), key).toBe(false);
      expect(getNamedType(field!.type).name, key).not.toMatch(/Connection$/);
    }
  });
});
