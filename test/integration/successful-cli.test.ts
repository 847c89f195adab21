import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postGraphQL } from '../support/test-app.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { killRunningClis, REPO, runCli, spawnCli } from '../support/cli.ts';

const SECRET = 'cli-test-secret-0123456789abcdef0123456789';

afterEach(killRunningClis);

describe('CLI commands print the JSON of API.md §1', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase();
    env = { DATABASE_URL: db.url, APP_SECRET: SECRET };
  });
  afterAll(async () => db.drop());

  it('creates an organization, a user, tokens; revokes; seeds', async () => {
    const org = await runCli(['org', 'create', '--name', 'Acme Pte Ltd', '--timezone', 'Asia/Singapore'], env);
    expect(org.code, org.stderr).toBe(0);
    const created = JSON.parse(org.stdout) as {
      organization: { id: string; name: string; timezone: string };
      admin: { userId: string; email: string; token: string };
    };
    expect(org.stdout.trim().split('\n')).toHaveLength(1);
    expect(created.organization).toMatchObject({ name: 'Acme Pte Ltd', timezone: 'Asia/Singapore' });
    expect(Object.keys(created.admin).sort()).toEqual(['email', 'token', 'userId']);

    const user = await runCli(['user', 'create', '--org', created.organization.id, '--email', 'sam@acme.example', '--role', 'STANDARD', '--name', 'Sam'], env);
    expect(user.code, user.stderr).toBe(0);
    const standard = JSON.parse(user.stdout) as { userId: string; email: string; role: string; token: string };
    expect(standard).toMatchObject({ email: 'sam@acme.example', role: 'STANDARD' });

    const token = await runCli(['token', 'create', '--user', standard.userId, '--name', 'laptop'], env);
    expect(token.code, token.stderr).toBe(0);
    const { token: extra } = JSON.parse(token.stdout) as { token: string };
    expect(extra).toMatch(/^cda_/);

    const revoke = await runCli(['token', 'revoke', '--token', extra], env);
    expect(JSON.parse(revoke.stdout)).toEqual({ revoked: true });
    const owners = await db.pool.query('select count(*)::int as n from api_tokens where revoked_at is not null');
    expect(owners.rows[0].n).toBe(1);

    const seed = await runCli(['seed', '--org', created.organization.id, '--contacts', '1000', '--leads', '10', '--accounts', '5', '--deals', '3'], env);
    expect(seed.code, seed.stderr).toBe(0);
    expect(JSON.parse(seed.stdout)).toEqual({ leads: 10, contacts: 1000, accounts: 5, deals: 3 });
    const counts = await db.pool.query(
      'select (select count(*) from contacts where organization_id = $1)::int as c, (select count(*) from deals where organization_id = $1)::int as d',
      [created.organization.id],
    );
    expect(counts.rows[0]).toEqual({ c: 1000, d: 3 });

    // No policy is enabled: the sweep finds nothing to do, and says so in the documented shape.
    const sweep = await runCli(['retention', 'sweep', '--org', created.organization.id], env);
    expect(sweep.code, sweep.stderr).toBe(0);
    expect(JSON.parse(sweep.stdout)).toEqual({ expired: 0, masked: 0, deleted: 0 });
    const stillThere = await db.pool.query('select count(*)::int as n from contacts where organization_id = $1', [created.organization.id]);
    expect(stillThere.rows[0].n).toBe(1000);
  });

  it('refuses bad input with a message and a non-zero exit, creating nothing', async () => {
    const before = await db.pool.query('select count(*)::int as n from users');
    const badRole = await runCli(['user', 'create', '--org', '00000000-0000-0000-0000-000000000000', '--email', 'x@y.example', '--role', 'OWNER'], env);
    expect(badRole.code).not.toBe(0);
    expect(badRole.stdout).toBe('');
    expect(badRole.stderr).toMatch(/NOT_FOUND|role/);
    const missing = await runCli(['org', 'create'], env);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain('--name is required');
    const unknown = await runCli(['frobnicate'], env);
    expect(unknown.code).toBe(64);
    const badTz = await runCli(['org', 'create', '--name', 'X', '--timezone', 'Mars/Olympus'], env);
    expect(badTz.code).toBe(1);
    expect(badTz.stderr).toContain('timezone');
    const after = await db.pool.query('select count(*)::int as n from users');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('stops with a message naming the variable when the configuration is bad', async () => {
    const res = await runCli(['migrate'], { ...env, PORT: 'eighty' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('PORT');
  });
});

describe('serve: first run demo, later runs, graceful stop', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  /** Starts `serve`, waits for its first-run lines, runs `whileUp`, then stops it with SIGTERM. */
  const serveOnce = async (whileUp?: (lines: string[]) => Promise<void>): Promise<{ lines: string[]; code: number | null }> => {
    const child = spawnCli(['serve'], {
      cwd: REPO,
      env: { ...process.env, DATABASE_URL: db.url, APP_SECRET: SECRET, PORT: '0', LOG_LEVEL: 'warn' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const deadline = Date.now() + 30_000;
    // The tokens (first run) are printed with the URL in one write.
    while (!out.includes('GraphiQL:') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const lines = out.trim().split('\n');
    try {
      await whileUp?.(lines);
    } finally {
      child.kill('SIGTERM');
    }
    return { lines, code: await exited };
  };

  it('prints the URL and the two tokens on the first run only, and the ADMIN token works', async () => {
    const first = await serveOnce(async (lines) => {
      const url = lines[0]!.replace(/^GraphiQL: /, '').replace(/\/graphql$/, '');
      const token = lines[1]!.replace(/^ADMIN token: /, '');
      const res = await postGraphQL<{ viewer: { role: string }; contacts: { totalCount: number } }>(
        url,
        token,
        '{ viewer { role } contacts(first: 5) { totalCount } }',
      );
      expect(res.data).toEqual({ viewer: { role: 'ADMIN' }, contacts: { totalCount: 200 } });
    });
    expect(first.code).toBe(0);
    expect(first.lines[0]).toMatch(/^GraphiQL: http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    expect(first.lines[1]).toMatch(/^ADMIN token: cda_/);
    expect(first.lines[2]).toMatch(/^STANDARD token: cda_/);
    expect(first.lines).toHaveLength(3);
    const second = await serveOnce();
    expect(second.code).toBe(0);
    expect(second.lines).toHaveLength(1);
    const orgs = await db.pool.query('select count(*)::int as n from organizations');
    expect(orgs.rows[0].n).toBe(1);
  });
});
