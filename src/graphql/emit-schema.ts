// `npm run schema:emit`: writes schema/schema.graphql from the resolvers (a test fails when they differ).
import { writeFile } from 'node:fs/promises';
import { printAppSchema, SCHEMA_FILE } from './schema.ts';

await writeFile(SCHEMA_FILE, await printAppSchema());
process.stderr.write(`wrote ${SCHEMA_FILE}\n`);
