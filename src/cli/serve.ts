import type { App } from '../app.ts';
import { seedOrganization } from '../modules/crm/crm.seed.ts';

export const DEMO_COUNTS = { accounts: 50, contacts: 200, leads: 150, deals: 80 };

/**
 * The very first start on an empty database creates a demo organization with sample records and prints the
 * tokens to try it with (API.md §1: exactly these lines). Later starts print the URL only.
 */
export async function firstRunDemo(app: App, graphiqlUrl: string): Promise<void> {
  const lines = [`GraphiQL: ${graphiqlUrl}`];
  const { rows } = await app.services.pool.query<{ n: number }>('select count(*)::int as n from organizations');
  if (rows[0]?.n === 0) {
    const { organization, admin } = await app.services.auth.createOrganization({ name: 'Demo Company', timezone: 'Asia/Singapore' });
    const standard = await app.services.auth.createUser({
      organizationId: organization.id,
      email: 'standard@demo-company.example.com',
      role: 'STANDARD',
      name: 'Sam Standard',
    });
    await seedOrganization(app.services.pool, organization.id, DEMO_COUNTS);
    await app.services.afterBulkLoad?.(organization.id);
    lines.push(`ADMIN token: ${admin.token}`, `STANDARD token: ${standard.token}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
