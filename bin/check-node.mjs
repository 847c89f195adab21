// Refuses an unsupported Node.js with one line before anything else loads. Plain JavaScript on purpose: it must
// run on any Node, where the service itself (its dependencies, pg-boss 12 among them) would fail later and
// less clearly. The minimum is package.json's `engines.node` (">=MAJOR.MINOR"), so it is written in one place.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const wanted = /^>=\s*(\d+)\.(\d+)/.exec(pkg.engines?.node ?? '');
const [major, minor] = process.versions.node.split('.').map(Number);
if (wanted && (major < Number(wanted[1]) || (major === Number(wanted[1]) && minor < Number(wanted[2])))) {
  console.error(`crm-data-admin needs Node.js ${pkg.engines.node} (Node 24 LTS recommended); this is Node ${process.versions.node}.`);
  process.exit(1);
}
