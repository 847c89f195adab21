import { print, subscribe as graphqlSubscribe, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { GraphQLContext } from './context.ts';

type Subscribe = (args: ExecutionArgs) => Promise<AsyncIterable<ExecutionResult> | ExecutionResult> | AsyncIterable<ExecutionResult> | ExecutionResult;

/** Results one slow socket may have waiting before it is ended with an error (as a Repeater's push queue). */
export const MAX_QUEUED_RESULTS = 1024;

/**
 * Subscriptions that would compute the same results share one execution per process: same user (and so the same
 * organization and role), same document, operation and variables. Each event is then resolved once, and only the
 * message framing and the send are per socket. Results depend on nothing else in the context: resolvers read the
 * viewer only (the socket's token is checked per socket, before each operation, by ws.ts).
 *
 * Why: with 500 `backupEvents` subscribers on one api, each event ran the same GraphQL execution 500 times
 * (bench/live-events.ts, profile in the issue 12 report).
 */
export function sharedSubscribe(subscribe: Subscribe = graphqlSubscribe): (args: ExecutionArgs) => Promise<AsyncIterable<ExecutionResult> | ExecutionResult> {
  const hubs = new Map<string, Hub>();
  return async (args) => {
    const key = keyOf(args);
    if (key === undefined) return subscribe(args);
    for (;;) {
      let hub = hubs.get(key);
      if (!hub) {
        const created = new Hub(subscribe(args), () => hubs.get(key) === created && hubs.delete(key));
        hubs.set(key, (hub = created));
      }
      const joined = await hub.join();
      if (joined) return joined; // else it ended while we waited for it to start: start another
    }
  };
}

function keyOf(args: ExecutionArgs): string | undefined {
  const viewer = (args.contextValue as GraphQLContext | undefined)?.viewer;
  if (!viewer) return undefined;
  return JSON.stringify([viewer.userId, viewer.organizationId, viewer.role, args.operationName ?? null, args.variableValues ?? null, print(args.document)]);
}

/** One execution and its members: every result goes to each member; the last member to leave ends it. */
class Hub {
  private readonly members = new Set<Member>();
  private readonly started: Promise<AsyncIterator<ExecutionResult> | ExecutionResult>;
  private source: AsyncIterator<ExecutionResult> | undefined;
  /** Its source ended, or every member left: nobody may join any more. */
  private closed = false;

  constructor(
    result: ReturnType<Subscribe>,
    private readonly forget: () => void,
  ) {
    this.started = Promise.resolve(result).then(
      (value) => {
        if (!isAsyncIterable(value)) {
          this.forget(); // an error result (e.g. NOT_FOUND): each joiner gets it, the next subscribe tries again
          return value;
        }
        this.source = value[Symbol.asyncIterator]();
        void this.pump(this.source);
        return this.source;
      },
      (error: unknown) => {
        this.forget();
        throw error;
      },
    );
  }

  /** The member's results, the error result every joiner gets, or undefined when the hub is already over. */
  async join(): Promise<AsyncIterable<ExecutionResult> | ExecutionResult | undefined> {
    const started = await this.started;
    if (!('next' in started)) return started;
    if (this.closed) return undefined;
    const member = new Member(() => this.leave(member));
    this.members.add(member);
    return member;
  }

  private leave(member: Member): void {
    this.members.delete(member);
    if (this.members.size > 0 || this.closed) return;
    this.closed = true;
    this.forget();
    void this.source?.return?.();
  }

  private async pump(source: AsyncIterator<ExecutionResult>): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await source.next();
        if (done) break;
        for (const member of this.members) member.push(value);
      }
      this.close();
    } catch (error) {
      this.close(error as Error);
    }
  }

  private close(error?: Error): void {
    this.closed = true;
    this.forget();
    for (const member of this.members) member.end(error);
  }
}

/** One socket's view of a shared execution: an async generator (graphql-ws calls `return` when it completes). */
class Member implements AsyncGenerator<ExecutionResult, undefined> {
  private readonly queue: ExecutionResult[] = [];
  private waiting: { resolve(r: IteratorResult<ExecutionResult, undefined>): void; reject(e: Error): void } | undefined;
  private finished = false;
  private failure: Error | undefined;

  constructor(private readonly onLeave: () => void) {}

  push(value: ExecutionResult): void {
    if (this.finished) return;
    if (this.waiting) {
      this.waiting.resolve({ value, done: false });
      this.waiting = undefined;
    } else if (this.queue.length >= MAX_QUEUED_RESULTS) {
      this.end(new Error(`More than ${MAX_QUEUED_RESULTS} results waiting to be sent on one subscription`));
      this.onLeave();
    } else this.queue.push(value);
  }

  end(error?: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = error;
    if (!this.waiting) return;
    if (error) this.waiting.reject(error);
    else this.waiting.resolve({ value: undefined, done: true });
    this.waiting = undefined;
  }

  next(): Promise<IteratorResult<ExecutionResult, undefined>> {
    const value = this.queue.shift();
    if (value) return Promise.resolve({ value, done: false });
    if (this.finished) {
      const failure = this.failure;
      this.failure = undefined; // reported once, then the generator is simply done
      return failure ? Promise.reject(failure) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<ExecutionResult, undefined>> {
    this.queue.length = 0;
    if (!this.finished) {
      this.end();
      this.onLeave();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<ExecutionResult, undefined>> {
    void this.return();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
