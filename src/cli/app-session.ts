import { createApp, type App } from '../app.ts';
import { resolveAppSecret } from '../shared/app-secret.ts';
import type { CommandContext } from './command.ts';

/** Commands that need the services (but no HTTP server and no job workers). */
export async function withApp<T>(ctx: CommandContext, fn: (app: App) => Promise<T>): Promise<T> {
  const appSecret = await resolveAppSecret(ctx.config);
  const app = await createApp({
    config: ctx.config,
    databaseUrl: ctx.databaseUrl,
    databaseDirectUrl: ctx.databaseDirectUrl,
    appSecret,
    log: ctx.log,
    headless: true,
  });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}
