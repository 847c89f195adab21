import type pg from 'pg';

/**
 * `COPY (…) TO STDOUT` for node-postgres (pg-copy-streams is not a dependency). The protocol sends exactly one
 * CopyData message per row, and pg already routes CopyData/CommandComplete/ReadyForQuery/ErrorResponse to the
 * active query, so a Submittable of a few lines suffices: each row's bytes go to `onRow` as they arrive.
 *
 * Backpressure: `onRow` may return a promise; the socket is paused until it settles (the server then blocks on its
 * send buffer). If it rejects, or `onRow` throws, the connection is destroyed: there is no way to stop a COPY midway
 * on the wire, and the transaction is lost anyway.
 */

/** The parts of pg's Connection this query talks to (not in @types/pg). */
interface CopyConnection {
  query(text: string): void;
  stream: { pause(): void; resume(): void; destroy(error?: Error): void };
}

interface CopyDataMessage {
  chunk: Buffer;
}

export type RowHandler = (row: Buffer) => void | Promise<void>;

export class CopyOutQuery implements pg.Submittable {
  readonly text: string;
  readonly #onRow: RowHandler;
  readonly #done: Promise<number>;
  #resolve: (rows: number) => void = () => undefined;
  #reject: (error: Error) => void = () => undefined;
  #connection: CopyConnection | undefined;
  #rows = 0;
  #failure: Error | undefined;
  #paused = 0;

  constructor(text: string, onRow: RowHandler) {
    this.text = text;
    this.#onRow = onRow;
    this.#done = new Promise<number>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Settles with the number of rows once the server has finished (or failed). */
  get done(): Promise<number> {
    return this.#done;
  }

  submit(connection: pg.Connection): void {
    this.#connection = connection as unknown as CopyConnection;
    this.#connection.query(this.text);
  }

  handleCopyData(message: CopyDataMessage): void {
    if (this.#failure) return;
    this.#rows += 1;
    let pending: void | Promise<void>;
    try {
      pending = this.#onRow(message.chunk);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (pending) this.#pauseUntil(pending);
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    if (this.#failure) this.#reject(this.#failure);
    else this.#resolve(this.#rows);
  }

  handleError(error: Error): void {
    this.#reject(this.#failure ?? error);
  }

  // pg calls these for other statement kinds; a COPY never produces them.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}

  #pauseUntil(pending: Promise<void>): void {
    const stream = this.#connection?.stream;
    if (this.#paused++ === 0) stream?.pause();
    pending.then(
      () => {
        if (--this.#paused === 0 && !this.#failure) stream?.resume();
      },
      (error: unknown) => this.#fail(error),
    );
  }

  #fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = error instanceof Error ? error : new Error(String(error));
    // The client then reports a lost connection to this query (handleError), which rejects with #failure.
    this.#connection?.stream.destroy(this.#failure);
  }
}
