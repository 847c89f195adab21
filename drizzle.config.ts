import { defineConfig } from 'drizzle-kit';

// Generation only (`npm run db:generate`): it needs no database. The service applies
// the SQL in migrations/ itself at start (src/db/migrate.ts).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
});
