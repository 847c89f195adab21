// Preloaded with `node --import` by a test: appends the URL of every module the process loads (ESM and
// CommonJS) to MODULE_TRACE_FILE, so the test can tell which libraries a role actually loaded.
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const file = process.env.MODULE_TRACE_FILE;
registerHooks({
  load(url, context, nextLoad) {
    if (file) appendFileSync(file, `${url}\n`);
    return nextLoad(url, context);
  },
});
