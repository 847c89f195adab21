import type { App } from '../app.ts';
import { runMigrations } from '../db/migrate.ts';
import { createDatabase } from '../db/client.ts';
import { seedOrganization } from '../modules/crm/crm.seed.ts';
import { isUuid } from '../shared/validation.ts';
import { countOption, parseOptions, printJson, UsageError } from './args.ts';

/** `org create --name NAME [--timezone IANA]` */
export async function orgCreate(app: App, argv: string[]): Promise<void> {
  const opts = parseOptions(argv, { name: { type: 'string', required: true }, timezone: { type: 'string' } });
  const { organization, admin } = await app.services.auth.createOrganization({ name: opts.name!, timezone: opts.timezone });
  printJson({
    organization: { id: organization.id, name: organization.name, timezone: organization.timezone },
    admin: { userId: admin.userId, email: admin.email, token: admin.token },
  });
}

/** `user create --org ORG_ID --email EMAIL --role ADMIN|STANDARD [--name NAME]` */
export async function userCreate(app: App, argv: string[]): Promise<void> {
  const opts = parseOptions(argv, {
    org: { type: 'string', required: true },
    email: { type: 'string', required: true },
    role: { type: 'string', required: true },
    name: { type: 'string' },
  });
  const user = await app.services.auth.createUser({ organizationId: opts.org!, email: opts.email!, role: opts.role!, name: opts.name });
  printJson({ userId: user.userId, email: user.email, role: user.role, token: user.token });
}

/** `token create --user USER_ID [--name LABEL]` */
export async function tokenCreate(app: App, argv: string[]): Promise<void> {
  const opts = parseOptions(argv, { user: { type: 'string', required: true }, name: { type: 'string' } });
  printJson({ token: await app.services.auth.createToken(opts.user!, opts.name ?? null) });
}

/** `token revoke --token TOKEN` */
export async function tokenRevoke(app: App, argv: string[]): Promise<void> {
  const opts = parseOptions(argv, { token: { type: 'string', required: true } });
  printJson({ revoked: await app.services.auth.revokeToken(opts.token!) });
}

/** `seed --org ORG_ID [--leads N] [--contacts N] [--accounts N] [--deals N]` */
export async function seed(app: App, argv: string[]): Promise<void> {
  const opts = parseOptions(argv, {
    org: { type: 'string', required: true },
    leads: { type: 'string' },
    contacts: { type: 'string' },
    accounts: { type: 'string' },
    deals: { type: 'string' },
  });
  if (!isUuid(opts.org!)) throw new UsageError('--org must be an organization id');
  const counts = {
    leads: countOption('leads', opts.leads),
    contacts: countOption('contacts', opts.contacts),
    accounts: countOption('accounts', opts.accounts),
    deals: countOption('deals', opts.deals),
  };
  const found = await app.services.pool.query('select 1 from organizations where id = $1', [opts.org]);
  if (found.rowCount === 0) throw new UsageError('no organization with that id');
  await seedOrganization(app.services.pool, opts.org!, counts);
  await app.services.afterBulkLoad?.(opts.org!);
  printJson(counts);
}

/** `migrate`: applies pending migrations (no app needed). */
export async function migrate(databaseUrl: string): Promise<void> {
  const database = createDatabase(databaseUrl, { max: 1 });
  try {
    await runMigrations(database.pool);
    printJson({ migrated: true });
  } finally {
    await database.close();
  }
}

/** `retention sweep [--org ORG_ID]`: runs the retention sweep now instead of waiting for its schedule. */
export async function retentionSweep(app: App, argv: string[]): Promise<void> {
  const opts = parseOptions(argv, { org: { type: 'string' } });
  if (opts.org !== undefined && !isUuid(opts.org)) throw new UsageError('--org must be an organization id');
  const result = await app.services.retention.sweep({ organizationId: opts.org });
  printJson({ expired: result.expired, masked: result.masked, deleted: result.deleted });
}
