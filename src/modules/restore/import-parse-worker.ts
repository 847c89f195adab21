/**
 * Worker-thread entry of an import's parser (started by import-parse-channel.ts): everything that reads the
 * untrusted file runs here, under the heap limit the job gives the thread, so a file that defeats every cap
 * still ends only this thread. The compiled build runs it as JavaScript; from the sources Node loads it by type
 * stripping, so this file and everything it imports uses erasable syntax only.
 */
import { parentPort } from 'node:worker_threads';
import { UnreadableFileError } from '../../import/table.types.ts';
import type { CrmModuleName } from '../crm/crm.modules.ts';
import { CHUNK_CHARS, CHUNK_WINDOW, ROWS_PER_CHUNK, rowChars, toWire, type FromParser, type ParseJob, type ToParser, type WireRow } from './import-parse-protocol.ts';
import { tablesOf, zipModules } from './import-sources.ts';

if (!parentPort) throw new Error('import-parse-worker.ts must run in a worker thread');
const port = parentPort;

// The state of the one job this thread reads at a time (reset by each `start`).
let credits = CHUNK_WINDOW;
let skipTable = -1;
let wake: (() => void) | undefined;
port.on('message', (message: ToParser) => {
  if (message.type === 'start') {
    credits = CHUNK_WINDOW;
    skipTable = -1;
    run(message.job).then(
      () => post({ type: 'done' }),
      (error: unknown) => post({ type: 'failed', error: wireError(error) }),
    );
    return;
  }
  if (message.type === 'ack') credits += 1;
  else skipTable = message.table;
  wake?.();
});

const post = (message: FromParser): void => port.postMessage(message);

async function sendRows(rows: WireRow[]): Promise<void> {
  while (credits <= 0) await new Promise<void>((resolve) => (wake = resolve));
  credits -= 1;
  post({ type: 'rows', rows });
}

async function run(job: ParseJob): Promise<void> {
  const modules: CrmModuleName[] =
    job.source.format === 'ZIP' ? await zipModules(job.source, job.modules, job.limits) : [job.modules![0]!];
  post({ type: 'modules', modules });
  let table = 0;
  for await (const { module, reader, unescapeText } of tablesOf(job.source, modules, job.tempDir, job.limits)) {
    post({ type: 'table', table, module, file: reader.file, header: reader.header, unescapeText });
    try {
      let chunk: WireRow[] = [];
      let chars = 0;
      for await (const row of reader.rows) {
        if (skipTable === table) break;
        chunk.push(toWire(row));
        chars += rowChars(row);
        if (chunk.length >= ROWS_PER_CHUNK || chars >= CHUNK_CHARS) {
          await sendRows(chunk);
          chunk = [];
          chars = 0;
        }
      }
      if (chunk.length > 0 && skipTable !== table) await sendRows(chunk);
    } finally {
      reader.close();
    }
    post({ type: 'table-end', table });
    table += 1;
  }
}

function wireError(error: unknown) {
  const e = error instanceof Error ? error : new Error(String(error));
  const file = e instanceof UnreadableFileError ? { file: e.file, reason: e.reason } : {};
  return { name: e.name, message: e.message.slice(0, 1000), ...file };
}
