import { afterAll, beforeAll } from 'vitest';
import { createOrg, type TestOrg } from './factories.ts';
import { startTestApp, type StartOptions, type TestApp } from './test-app.ts';
import type { TestDatabase } from './test-database.ts';

export interface OrgApp {
  /** The app, on a database and a DATA_DIR of its own (so STORAGE_DIR is its own too). */
  t: TestApp & { db: TestDatabase };
  /** An organization with an ADMIN and a STANDARD user. */
  org: TestOrg;
  /** A second organization, for isolation checks: only with `orgs: 2`. */
  other: TestOrg;
  /** The app's STORAGE_DIR, removed with the app. */
  storageDir: string;
}

/**
 * The setup most test files share, as one call in a describe block: a beforeAll starts the app and creates the
 * organizations, then hands them to `bind`; an afterAll closes the app (database and directories included).
 * A file's own beforeAll, registered after this call, runs after it and can use what `bind` stored.
 */
export function useOrgApp(options: StartOptions & { orgs?: 1 | 2 }, bind: (ready: OrgApp) => void): void {
  const { orgs = 1, ...start } = options;
  let app: OrgApp['t'] | undefined;
  beforeAll(async () => {
    const t = await startTestApp(start);
    app = t;
    const org = await createOrg(t.app);
    const other = orgs === 2 ? await createOrg(t.app) : undefined;
    bind({
      t,
      org,
      get other(): TestOrg {
        if (!other) throw new Error('useOrgApp: pass { orgs: 2 } for a second organization');
        return other;
      },
      storageDir: t.app.services.config.storageDir,
    });
  });
  afterAll(async () => app?.close());
}
