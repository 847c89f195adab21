/**
 * Worker-thread entry of the backup export (started by worker-channel.ts). The compiled build runs it as JavaScript;
 * from the sources it is loaded as TypeScript by Node itself (type stripping) or by tsx/vitest, so this file and
 * everything it imports uses erasable syntax only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type ExportJob, exportModules } from './module-exporter.ts';
import { WorkerTargetClient } from './worker-channel.ts';

if (!parentPort) throw new Error('archive-worker.ts must run in a worker thread');
const port = parentPort;
const client = new WorkerTargetClient(port);

exportModules(workerData as ExportJob, client).then(
  () => client.done(),
  (error: unknown) => client.failed(error),
).finally(() => {
  // Nothing more will be acknowledged: let the thread end once its last messages are out.
  port.unref();
});
