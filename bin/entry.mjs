// What bin/crm-data-admin runs: the Node.js version gate, then the compiled service, in one process (the gate in
// a node process of its own cost every start and every CLI call ~30 ms). Plain JavaScript that any Node can load:
// the static import runs the gate (which exits with its one line on an old Node) before the dynamic import below
// loads anything of the service.
import './check-node.mjs';

import('../dist/main.js').catch((error) => {
  process.stderr.write(`${error?.stack ?? String(error)}\n`);
  process.exit(1);
});
