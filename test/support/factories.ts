import type { App } from '../../src/app.ts';

export interface TestOrg {
  organizationId: string;
  name: string;
  admin: { userId: string; email: string; token: string };
  standard: { userId: string; email: string; token: string };
}

let counter = 0;

/** An organization with an ADMIN and a STANDARD user, through the same service the CLI uses. */
export async function createOrg(app: App, name = `Org ${++counter} ${Math.random().toString(36).slice(2, 6)}`, timezone = 'Asia/Singapore'): Promise<TestOrg> {
  const { organization, admin } = await app.services.auth.createOrganization({ name, timezone });
  const standard = await app.services.auth.createUser({
    organizationId: organization.id,
    email: `standard${++counter}@example.com`,
    role: 'STANDARD',
    name: 'Standard User',
  });
  return { organizationId: organization.id, name, admin, standard };
}
