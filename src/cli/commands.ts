import { isUuid } from '../shared/validation.ts';
import { countOption, parseOptions, printJson, UsageError } from './args.ts';
import type { Command, CommandContext } from './command.ts';
import type { AuthService } from '../modules/auth/auth.service.ts';
import type { App } from '../app.ts';

// The sessions are imported when a command runs, not when the CLI starts (see command.ts).
const auth = async <T>(ctx: CommandContext, fn: (service: AuthService) => Promise<T>): Promise<T> =>
  (await import('./auth-session.ts')).withAuth(ctx, fn);
const app = async <T>(ctx: CommandContext, fn: (running: App) => Promise<T>): Promise<T> =>
  (await import('./app-session.ts')).withApp(ctx, fn);

/** `org create --name NAME [--timezone IANA]` */
const orgCreate: Command = (argv) => {
  const opts = parseOptions(argv, { name: { type: 'string', required: true }, timezone: { type: 'string' } });
  return (ctx) =>
    auth(ctx, async (service) => {
      const { organization, admin } = await service.createOrganization({ name: opts.name!, timezone: opts.timezone });
      printJson({
        organization: { id: organization.id, name: organization.name, timezone: organization.timezone },
        admin: { userId: admin.userId, email: admin.email, token: admin.token },
      });
    });
};

/** `user create --org ORG_ID --email EMAIL --role ADMIN|STANDARD [--name NAME]` */
const userCreate: Command = (argv) => {
  const opts = parseOptions(argv, {
    org: { type: 'string', required: true },
    email: { type: 'string', required: true },
    role: { type: 'string', required: true },
    name: { type: 'string' },
  });
  return (ctx) =>
    auth(ctx, async (service) => {
      const user = await service.createUser({ organizationId: opts.org!, email: opts.email!, role: opts.role!, name: opts.name });
      printJson({ userId: user.userId, email: user.email, role: user.role, token: user.token });
    });
};

/** `token create --user USER_ID [--name LABEL]` */
const tokenCreate: Command = (argv) => {
  const opts = parseOptions(argv, { user: { type: 'string', required: true }, name: { type: 'string' } });
  return (ctx) => auth(ctx, async (service) => printJson({ token: await service.createToken(opts.user!, opts.name ?? null) }));
};

/** `token revoke --token TOKEN` */
const tokenRevoke: Command = (argv) => {
  const opts = parseOptions(argv, { token: { type: 'string', required: true } });
  return (ctx) => auth(ctx, async (service) => printJson({ revoked: await service.revokeToken(opts.token!) }));
};

/** `seed --org ORG_ID [--leads N] [--contacts N] [--accounts N] [--deals N]` */
const seed: Command = (argv) => {
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
  return (ctx) =>
    app(ctx, async ({ services }) => {
      const found = await services.pool.query('select 1 from organizations where id = $1', [opts.org]);
      if (found.rowCount === 0) throw new UsageError('no organization with that id');
      const { seedOrganization } = await import('../modules/crm/crm.seed.ts');
      await seedOrganization(services.pool, opts.org!, counts);
      await services.afterBulkLoad?.(opts.org!);
      printJson(counts);
    });
};

/** `migrate`: applies pending migrations (no app needed). */
const migrate: Command = () => {
  return async (ctx) => {
    const [{ default: pg }, { runMigrations }] = await Promise.all([import('pg'), import('../db/migrate.ts')]);
    const pool = new pg.Pool({ connectionString: ctx.databaseUrl, max: 1, application_name: 'crm-data-admin-cli' });
    try {
      await runMigrations(pool, ctx.databaseDirectUrl);
      printJson({ migrated: true });
    } finally {
      await pool.end();
    }
  };
};

/** `retention sweep [--org ORG_ID]`: runs the retention sweep now instead of waiting for its schedule. */
const retentionSweep: Command = (argv) => {
  const opts = parseOptions(argv, { org: { type: 'string' } });
  if (opts.org !== undefined && !isUuid(opts.org)) throw new UsageError('--org must be an organization id');
  return (ctx) =>
    app(ctx, async ({ services }) => {
      const result = await services.retention.sweep({ organizationId: opts.org });
      printJson({ expired: result.expired, masked: result.masked, deleted: result.deleted });
    });
};

/** Every command but `serve`, by its words on the command line. */
export const COMMANDS: Record<string, Command> = {
  migrate,
  'org create': orgCreate,
  'user create': userCreate,
  'token create': tokenCreate,
  'token revoke': tokenRevoke,
  seed,
  'retention sweep': retentionSweep,
};
