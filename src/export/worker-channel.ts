import { type MessagePort, Worker } from 'node:worker_threads';
import type { ModuleName } from './module-columns.ts';
import type { ExportJob, ExportTarget } from './module-exporter.ts';

/*
 * The exporter runs in a worker thread (reading and formatting are the CPU-heavy part; the main thread only copies
 * bytes into the archive and stays responsive for the API). Every message from the worker is handled in order on
 * the main thread and acknowledged by sequence number: CSV chunks may run a few ahead (bounded memory), progress
 * waits for its acknowledgement (the listener's promise is backpressure).
 */

type EventMessage =
  | { type: 'started'; snapshotAtMs: number; totals: [ModuleName, number][] }
  | { type: 'module'; module: ModuleName }
  | { type: 'csv'; module: ModuleName; buffer: ArrayBuffer; length: number }
  | { type: 'csv-end'; module: ModuleName }
  | { type: 'progress'; module: ModuleName; processed: number; total: number }
  | { type: 'xlsx'; module: ModuleName; file: string; records: number }
  | { type: 'done' }
  | { type: 'failed'; error: SerializedError };

export type WorkerMessage = EventMessage & { seq: number };
export type MainMessage = { type: 'ack'; seq: number };

interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  detail?: string;
}

/** CSV chunks (1 MiB each) that may be in flight between the threads. */
const CSV_WINDOW = 4;

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code, detail } = error as Error & { code?: unknown; detail?: unknown };
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    code: typeof code === 'string' ? code : undefined,
    detail: typeof detail === 'string' ? detail : undefined,
  };
}

function deserializeError(data: SerializedError): Error {
  const error = Object.assign(new Error(data.message), { code: data.code, detail: data.detail });
  error.name = data.name;
  if (data.stack) error.stack = data.stack;
  return error;
}

/** Worker side: an ExportTarget that forwards every event to the main thread. */
export class WorkerTargetClient implements ExportTarget {
  readonly #port: MessagePort;
  #nextSeq = 0;
  #acked = -1;
  #waiters: { seq: number; resolve: () => void }[] = [];

  constructor(port: MessagePort) {
    this.#port = port;
    port.on('message', (message: MainMessage) => this.#onAck(message.seq));
  }

  async started(info: { snapshotAtMs: number; totals: ReadonlyMap<ModuleName, number> }): Promise<void> {
    this.#send({ type: 'started', snapshotAtMs: info.snapshotAtMs, totals: [...info.totals] });
  }

  async moduleStarted(module: ModuleName): Promise<void> {
    this.#send({ type: 'module', module });
  }

  async csvChunk(module: ModuleName, chunk: Buffer): Promise<void> {
    // Hand the memory over instead of copying it: ByteWriter gives each chunk an ArrayBuffer of its own.
    const own = chunk.byteOffset === 0 && chunk.buffer instanceof ArrayBuffer ? chunk : Buffer.from(chunk);
    const buffer = own.buffer as ArrayBuffer;
    const seq = this.#send({ type: 'csv', module, buffer, length: own.length }, [buffer]);
    await this.#ackOf(seq - CSV_WINDOW);
  }

  async csvEnded(module: ModuleName): Promise<void> {
    this.#send({ type: 'csv-end', module });
  }

  async progress(module: ModuleName, processed: number, total: number): Promise<void> {
    await this.#ackOf(this.#send({ type: 'progress', module, processed, total }));
  }

  async xlsxReady(module: ModuleName, file: string, records: number): Promise<void> {
    this.#send({ type: 'xlsx', module, file, records });
  }

  done(): void {
    this.#send({ type: 'done' });
  }

  failed(error: unknown): void {
    this.#send({ type: 'failed', error: serializeError(error) });
  }

  #send(message: EventMessage, transfer: ArrayBuffer[] = []): number {
    const seq = this.#nextSeq++;
    this.#port.postMessage({ ...message, seq } satisfies WorkerMessage, transfer);
    return seq;
  }

  #ackOf(seq: number): Promise<void> {
    if (seq <= this.#acked) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }));
  }

  #onAck(seq: number): void {
    this.#acked = seq;
    const ready = this.#waiters.filter((w) => w.seq <= seq);
    this.#waiters = this.#waiters.filter((w) => w.seq > seq);
    for (const waiter of ready) waiter.resolve();
  }
}

/** V8 heap limits of the worker (its defaults suit: the hot path allocates almost nothing). */
export interface WorkerLimits {
  maxYoungGenerationSizeMb?: number;
  maxOldGenerationSizeMb?: number;
}

/**
 * The worker's entry sits next to this file with the same extension: `.ts` when the sources run (vitest, tsx,
 * `npm run dev`), `.js` in the compiled build. A literal `.ts` path would make compiled Node load TypeScript.
 */
const WORKER_URL = new URL(`./archive-worker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url);

/** Main side: runs the exporter in a worker and replays its events on `target`. Settles when the worker is done. */
export function runExportInWorker(
  job: ExportJob,
  target: ExportTarget,
  signal: AbortSignal,
  limits: WorkerLimits = {},
): Promise<void> {
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: job, resourceLimits: limits });
    let chain = Promise.resolve();
    let settled = false;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) {
        resolve();
        return;
      }
      // terminate() ends the worker's connection too; the server then rolls the snapshot's transaction back.
      worker.terminate().then(
        () => reject(error),
        () => reject(error),
      );
    };
    const onAbort = (): void => settle(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });

    const handle = async (message: WorkerMessage): Promise<void> => {
      if (settled) return;
      if (message.type === 'done') return settle();
      if (message.type === 'failed') return settle(deserializeError(message.error));
      await replay(message, target);
      worker.postMessage({ type: 'ack', seq: message.seq } satisfies MainMessage);
    };
    worker.on('message', (message: WorkerMessage) => {
      chain = chain.then(() => handle(message)).catch(settle);
    });
    worker.on('error', settle);
    worker.on('exit', (code) => {
      // Queued behind the messages, so that a 'done' already received settles first.
      chain = chain.then(() => settle(new Error(`backup worker stopped (exit code ${code}) before finishing`)));
    });
  });
}

async function replay(message: EventMessage, target: ExportTarget): Promise<void> {
  switch (message.type) {
    case 'started':
      return target.started({ snapshotAtMs: message.snapshotAtMs, totals: new Map(message.totals) });
    case 'module':
      return target.moduleStarted(message.module);
    case 'csv':
      return target.csvChunk(message.module, Buffer.from(message.buffer, 0, message.length));
    case 'csv-end':
      return target.csvEnded(message.module);
    case 'progress':
      return target.progress(message.module, message.processed, message.total);
    case 'xlsx':
      return target.xlsxReady(message.module, message.file, message.records);
    case 'done':
    case 'failed':
      return;
  }
}
