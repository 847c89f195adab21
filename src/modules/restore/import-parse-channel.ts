import { Worker } from 'node:worker_threads';
import { excerpt, ImportLimitError } from '../../import/import-limits.ts';
import { UnreadableFileError, type TableReader, type TableRow } from '../../import/table.types.ts';
import type { CrmModuleName } from '../crm/crm.modules.ts';
import { fromWire, type FromParser, type ParseJob, type ToParser, type WireError } from './import-parse-protocol.ts';
import type { ModuleTable } from './import-sources.ts';

/** V8 heap of the parser thread (IMPORT_WORKER_MEMORY_MB); its young generation stays small. */
export interface ParserResources {
  maxOldGenerationSizeMb: number;
}

/**
 * The worker's entry sits next to this file with the same extension: `.ts` when the sources run (vitest, tsx),
 * `.js` in the compiled build (the same rule as the backup's archive worker).
 */
const WORKER_URL = new URL(`./import-parse-worker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url);

/**
 * Reads an import's tables in a parser thread: the tables in order, each a header and rows pulled on demand
 * (the thread runs at most a couple of chunks ahead). Whatever the thread fails with ends the import: a cap
 * crossed or a damaged file with the message the reader gave, a heap exhausted with the limit named. Returning
 * from (or breaking out of) the iteration ends the thread.
 */
export async function* tablesInWorker(
  job: ParseJob,
  resources: ParserResources,
  onModules: (modules: CrmModuleName[]) => Promise<void>,
): AsyncGenerator<ModuleTable> {
  const inbox = new Inbox(job, resources);
  let clean = false;
  try {
    const first = await inbox.take();
    if (first.type !== 'modules') throw protocolError(first);
    await onModules(first.modules);
    for (;;) {
      const message = await inbox.take();
      if (message.type === 'done') {
        clean = true;
        return;
      }
      if (message.type !== 'table') throw protocolError(message);
      const table = new WorkerTable(inbox, message.table);
      yield { module: message.module, unescapeText: message.unescapeText, reader: { file: message.file, header: message.header, rows: table.rows(), close: () => table.close() } satisfies TableReader };
      await table.finish();
    }
  } finally {
    await inbox.release(clean);
  }
}

/**
 * A thread that ended its last job cleanly, kept for the next one (starting a thread and loading the parser's
 * modules costs more than most imports): one per heap size, unreferenced while idle so it never keeps the process
 * alive. A thread that failed, crashed or was stopped mid-file is never reused.
 */
const idleThreads = new Map<number, Worker>();

function takeThread(memoryMb: number): Worker {
  const idle = idleThreads.get(memoryMb);
  if (idle) {
    idleThreads.delete(memoryMb);
    idle.removeAllListeners('exit').removeAllListeners('error');
    idle.ref();
    return idle;
  }
  return new Worker(WORKER_URL, {
    // The parser's own sources need no loader: compiled JavaScript, or TypeScript that Node strips by itself. Not
    // inheriting the parent's (tsx's in development) saves most of a thread's start-up.
    execArgv: [],
    resourceLimits: { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
  });
}

function keepThread(memoryMb: number, worker: Worker): boolean {
  if (idleThreads.has(memoryMb)) return false;
  worker.unref();
  worker.on('error', () => undefined); // an idle thread that dies is simply not reused
  worker.once('exit', () => {
    if (idleThreads.get(memoryMb) === worker) idleThreads.delete(memoryMb);
  });
  idleThreads.set(memoryMb, worker);
  return true;
}

const protocolError = (message: FromParser) => new Error(`import parser sent ${message.type} out of turn`);

/** One table's rows as they arrive; closing it early tells the thread to skip the rest. */
class WorkerTable {
  private ended = false;
  private readonly inbox: Inbox;
  private readonly index: number;
  constructor(inbox: Inbox, index: number) {
    this.inbox = inbox;
    this.index = index;
  }

  async *rows(): AsyncGenerator<TableRow> {
    while (!this.ended) {
      const message = await this.inbox.take();
      if (message.type === 'table-end') {
        this.ended = true;
        return;
      }
      if (message.type !== 'rows') throw protocolError(message);
      this.inbox.send({ type: 'ack' });
      for (const row of message.rows) yield fromWire(row);
    }
  }

  close(): void {
    if (!this.ended) this.inbox.send({ type: 'skip', table: this.index });
  }

  /** Reads past what the job did not want, up to this table's end. */
  async finish(): Promise<void> {
    while (!this.ended) {
      const message = await this.inbox.take();
      if (message.type === 'table-end') this.ended = true;
      else if (message.type === 'rows') this.inbox.send({ type: 'ack' });
      else throw protocolError(message);
    }
  }
}

/** The thread and the messages it sent that nobody took yet; a failure is delivered once the messages before it are. */
class Inbox {
  private readonly worker: Worker;
  private readonly queue: FromParser[] = [];
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;
  private readonly fileName: string;
  private readonly memoryMb: number;

  constructor(job: ParseJob, resources: ParserResources) {
    this.fileName = job.source.fileName;
    this.memoryMb = resources.maxOldGenerationSizeMb;
    this.worker = takeThread(this.memoryMb);
    this.worker.on('message', this.onMessage);
    this.worker.on('error', this.onError);
    this.worker.on('exit', this.onExit);
    this.worker.postMessage({ type: 'start', job } satisfies ToParser);
  }

  private readonly onMessage = (message: FromParser): void => {
    if (message.type === 'failed') this.fail(revive(message.error, this.fileName));
    else this.queue.push(message);
    this.wake();
  };

  private readonly onError = (error: Error & { code?: string }): void => this.fail(this.crashError(error));

  private readonly onExit = (code: number): void =>
    this.fail(new ImportLimitError(this.fileName, `could not be read: its parser stopped (exit code ${code})`));

  async take(): Promise<FromParser> {
    for (;;) {
      const next = this.queue.shift();
      if (next) return next;
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  send(message: ToParser): void {
    this.worker.postMessage(message);
  }

  /** Hands the thread back for the next job after a clean end (`done` read), otherwise stops it. */
  async release(clean: boolean): Promise<void> {
    this.failure ??= new Error('import parser released');
    this.worker.off('message', this.onMessage).off('error', this.onError).off('exit', this.onExit);
    if (clean && keepThread(this.memoryMb, this.worker)) return;
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private crashError(error: Error & { code?: string }): Error {
    if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return new ImportLimitError(this.fileName, `needs more memory to read than the limit IMPORT_WORKER_MEMORY_MB (${this.memoryMb} MB)`);
    }
    return new ImportLimitError(this.fileName, `could not be read: its parser failed (${excerpt(error.message)})`);
  }
}

/**
 * The thread's error as the job reports it. A file it could not read keeps its class (the job fails with its
 * message); anything else the parser threw is still about the file (a hostile file must not be retried).
 */
function revive(error: WireError, fileName: string): Error {
  if (error.name === 'ImportLimitError' && error.file !== undefined) return new ImportLimitError(error.file, error.reason ?? '');
  if (error.file !== undefined) return new UnreadableFileError(error.file, error.reason ?? '');
  return new UnreadableFileError(fileName, `could not be read (${excerpt(error.message)})`);
}

