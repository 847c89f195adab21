import { Repeater } from '@graphql-yoga/subscription';
import { parse, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { MAX_QUEUED_RESULTS, sharedSubscribe } from '../../src/graphql/shared-subscriptions.ts';

const document = parse('subscription { backupEvents { kind } }');
const viewer = (userId: string) => ({ userId, organizationId: 'org-1', role: 'ADMIN', email: `${userId}@example.com`, tokenId: `t-${userId}` });
const argsFor = (userId: string, variableValues?: Record<string, unknown>): ExecutionArgs =>
  ({ schema: {} as GraphQLSchema, document, contextValue: { viewer: viewer(userId) }, variableValues });

/** A fake `subscribe`: counts executions, and lets the test push results into (or end) each of them. */
function source() {
  const executions: { push(r: ExecutionResult): Promise<unknown>; stop(e?: Error): void; returned: boolean }[] = [];
  const subscribe = (_args?: ExecutionArgs): AsyncIterable<ExecutionResult> =>
    new Repeater<ExecutionResult>(async (push, stop) => {
      const execution = { push, stop: (e?: Error) => stop(e), returned: false };
      executions.push(execution);
      await stop;
      execution.returned = true;
    });
  return { executions, subscribe };
}

async function take(iterable: unknown, n: number): Promise<unknown[]> {
  const it = (iterable as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]();
  const out: unknown[] = [];
  while (out.length < n) out.push((await it.next()).value);
  return out;
}

describe('sharedSubscribe', () => {
  it('runs one execution for the same user and operation, and gives every member each result', async () => {
    const { executions, subscribe } = source();
    const shared = sharedSubscribe(subscribe);
    const [a, b] = await Promise.all([shared(argsFor('u1')), shared(argsFor('u1'))]);
    const got = Promise.all([take(a, 2), take(b, 2)]);
    await new Promise((r) => setTimeout(r, 0)); // the Repeater's executor runs on the first pull
    expect(executions).toHaveLength(1);
    await executions[0]!.push({ data: { n: 1 } });
    await executions[0]!.push({ data: { n: 2 } });
    expect(await got).toEqual([[{ data: { n: 1 } }, { data: { n: 2 } }], [{ data: { n: 1 } }, { data: { n: 2 } }]]);
  });

  it('never shares across users or variables', async () => {
    const { subscribe } = source();
    let runs = 0;
    const shared = sharedSubscribe((args) => (runs++, subscribe(args)));
    await Promise.all([shared(argsFor('u1')), shared(argsFor('u2')), shared(argsFor('u1', { backupId: 'x' }))]);
    expect(runs).toBe(3);
  });

  it('ends the execution when the last member leaves, and starts a new one for the next subscriber', async () => {
    const { executions, subscribe } = source();
    let runs = 0;
    const shared = sharedSubscribe((args) => (runs++, subscribe(args)));
    const [a, b] = (await Promise.all([shared(argsFor('u1')), shared(argsFor('u1'))])) as AsyncGenerator<ExecutionResult>[];
    const pending = a!.next();
    await new Promise((r) => setTimeout(r, 0));
    await b!.return(undefined);
    expect(executions[0]!.returned).toBe(false); // a still listens
    await a!.return(undefined);
    expect(await pending).toEqual({ value: undefined, done: true });
    await new Promise((r) => setTimeout(r, 0));
    expect(executions[0]!.returned).toBe(true);
    await shared(argsFor('u1'));
    expect(runs).toBe(2);
  });

  it('hands an error result (not a stream) to the subscriber, and shares nothing afterwards', async () => {
    let runs = 0;
    const shared = sharedSubscribe(() => (runs++, { errors: [] }));
    expect(await shared(argsFor('u1'))).toEqual({ errors: [] });
    expect(await shared(argsFor('u1'))).toEqual({ errors: [] });
    expect(runs).toBe(2);
  });

  it('ends every member with the error when the execution fails', async () => {
    const { executions, subscribe } = source();
    const shared = sharedSubscribe(subscribe);
    const [a, b] = (await Promise.all([shared(argsFor('u1')), shared(argsFor('u1'))])) as AsyncGenerator<ExecutionResult>[];
    const results = Promise.allSettled([a!.next(), b!.next()]);
    await new Promise((r) => setTimeout(r, 0));
    executions[0]!.stop(new Error('listener lost'));
    expect((await results).map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it(`ends a member that lets more than ${MAX_QUEUED_RESULTS} results pile up, and not the others`, async () => {
    const { executions, subscribe } = source();
    const shared = sharedSubscribe(subscribe);
    const [slow, fast] = (await Promise.all([shared(argsFor('u1')), shared(argsFor('u1'))])) as AsyncGenerator<ExecutionResult>[];
    const first = slow!.next(); // starts the source; then the slow member stops reading
    await new Promise((r) => setTimeout(r, 0));
    const received: unknown[] = [];
    const reading = (async () => {
      for await (const r of fast!) if (received.push(r) === MAX_QUEUED_RESULTS + 2) break;
    })();
    for (let i = 0; i < MAX_QUEUED_RESULTS + 2; i += 1) await executions[0]!.push({ data: { i } });
    await reading;
    await first;
    const rest: unknown[] = [];
    await expect((async () => { for await (const r of slow!) rest.push(r); })()).rejects.toThrow(/results waiting/);
    expect(received).toHaveLength(MAX_QUEUED_RESULTS + 2);
  });
});
