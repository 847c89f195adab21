import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * DATABASE_URL may be PgBouncer in transaction pooling mode (Debian's 1.18): each transaction may run on another
 * server session, so nothing that lives in a session may go through it. The integration test behind PgBouncer
 * catches what it exercises; this scan catches the rest of the source, including paths no test walks.
 */
const SRC = path.resolve(import.meta.dirname, '../../src');

/** Where a session-bound statement is allowed: these files run it on the DATABASE_DIRECT_URL connection. */
const SESSION_FILES: Record<string, RegExp> = {
  'db/migrate.ts': /pg_advisory_lock\(/,
  'events/pg-listener.ts': /`LISTEN /,
};

const RULES: { what: string; pattern: RegExp }[] = [
  { what: 'a named prepared statement (drizzle .prepare with a name)', pattern: /\.prepare\(\s*(['"`])[^'"`]+\1/ },
  { what: 'a named prepared statement (pg query config with a name)', pattern: /\.query(?:<[^>]*>)?\(\s*\{[^}]*\bname\s*:/s },
  { what: 'a session advisory lock', pattern: /pg_(?:try_)?advisory_lock(?:_shared)?\(/ },
  { what: 'LISTEN', pattern: /(?<![a-z])['"`]\s*LISTEN\s/i }, // not "the workers' LISTEN connection"
  { what: 'a session-level SET (use SET LOCAL or set_config(..., true))', pattern: /['"`;]\s*set\s+(?!local\b|null\b|default\b)(?:session\s+)?[a-z_.]+\s*(?:=|to\b)/i },
  // node-postgres sends these as startup parameters, which PgBouncer 1.18 refuses ("unsupported startup parameter").
  { what: 'a startup parameter PgBouncer refuses', pattern: /\b(?:statement_timeout|lock_timeout|idle_in_transaction_session_timeout)\s*:|\boptions\s*:\s*['"`]\s*-c/ },
  { what: 'a temporary table', pattern: /create\s+(?:temp|temporary)\s+table/i },
  { what: 'a cursor held across transactions', pattern: /declare\s+\w+\s+(?:[a-z ]+\s+)?cursor\s+with\s+hold/i },
];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => path.join(e.parentPath, e.name));
}

/** Each rule's offending files, minus the session-bound uses allowed in their own files. */
function findViolations(files: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    const allowed = SESSION_FILES[file];
    const checked = allowed ? text.replace(new RegExp(allowed.source, 'g'), '') : text;
    for (const rule of RULES) if (rule.pattern.test(checked)) found.push(`${file}: ${rule.what}`);
  }
  return found;
}

describe('SQL sent through DATABASE_URL is safe behind a transaction pooler', () => {
  it('has no named statement, session lock, LISTEN, session SET, temp table or held cursor in src/', async () => {
    const files: Record<string, string> = {};
    for (const file of await sourceFiles(SRC)) files[path.relative(SRC, file)] = await fs.readFile(file, 'utf8');
    expect(Object.keys(files).length).toBeGreaterThan(50);
    expect(findViolations(files)).toEqual([]);
  });

  it.each([
    ["db.select().from(t).prepare('auth_viewer');", 'drizzle .prepare with a name'],
    ['await db.query<Row>({\n  name: `crm_find_${t}`,\n  text: sql,\n});', 'pg query config with a name'],
    ["await client.query('select pg_advisory_lock($1)', [1]);", 'a session advisory lock'],
    ["await client.query('LISTEN crm_events');", 'LISTEN'],
    ["await client.query('set statement_timeout = 5000');", 'a session-level SET'],
    ["await client.query('begin; set search_path to x');", 'a session-level SET'],
    ["await q.query('create temporary table t (id int)');", 'a temporary table'],
    ['new pg.Pool({ connectionString: url, statement_timeout: 5000 });', 'a startup parameter PgBouncer refuses'],
    ["new pg.Client({ connectionString: url, options: '-c lock_timeout=1000' });", 'a startup parameter PgBouncer refuses'],
  ])('recognises %j as %s', (source, what) => {
    expect(findViolations({ 'modules/x/x.repository.ts': source }).join()).toContain(what);
  });

  it.each([
    "db.select().from(t).prepare('');",
    "await client.query('begin; set local synchronous_commit = off');",
    "// the workers' LISTEN connection goes direct",
    "text('owner_id').references(() => users.id, { onDelete: 'set null' })",
    "await q.query('select pg_advisory_xact_lock($1, hashtext($2))', [1, id]);",
    "await client.query(`select set_config('statement_timeout', $1, true)`, ['5000']);",
    "await client.query('begin; set local statement_timeout = 5000');",
    'const options: BackupOptions = { keepArchives: 3 };',
  ])('lets %j through', (source) => {
    expect(findViolations({ 'modules/x/x.repository.ts': source })).toEqual([]);
  });
});
