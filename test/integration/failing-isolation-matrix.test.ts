import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLArgument, GraphQLInputType } from 'graphql';
import type { HostResolver } from '../../src/modules/webhooks/webhook-address.ts';
import { eventually, waitForStatus } from '../support/backup-helpers.ts';
import type { TestOrg } from '../support/factories.ts';
import { createRecords, type OrgRecords } from '../support/foundation-helpers.ts';
import { orgSnapshot } from '../support/org-snapshot.ts';
import { useOrgApp, type OrgApp } from '../support/org-app.ts';
import { documentOf, isEnumType, isIdType, isInputObjectType, isNonNullType, loadSchema, operations, unwrap, type Operation } from '../support/schema-operations.ts';
import { subscribe, type GraphQLResponse } from '../support/test-app.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';
import { MINIMAL_INPUTS, REFUSALS, SCALAR_VALUES, SUCCESS_ALLOWED, SUBSCRIPTION_MARKERS } from '../support/isolation-matrix.table.ts';

// Every webhook host is the local receiver: no DNS, no network.
const resolver: HostResolver = async () => [{ address: '127.0.0.1', family: 4 }];
const schema = loadSchema();
const ops = operations(schema);
type Variant = Record<string, unknown>;
/** Tables A need not have rows in (rows made only by retention sweeps); every other table must have one. */
const OPTIONAL_TABLES = new Set(['tombstones', 'retention_vault', 'retention_recomputes']);

/**
 * Schema-driven isolation: organization A owns one of everything; each query, mutation and subscription of the
 * emitted schema is called by organization B (ADMIN and STANDARD) with A's ids in every ID argument and every
 * ID field of its inputs. B gets NOT_FOUND / FORBIDDEN / BAD_USER_INPUT (or null, or an empty list), never a
 * byte of A's data, and A's rows (every table) are unchanged. An operation whose required arguments the
 * generator cannot build fails the test, so a new operation is covered or flagged, never skipped.
 */
describe('isolation matrix: every operation of the schema, with another organization\'s ids', () => {
  let s: OrgApp;
  let a: TestOrg;
  let b: TestOrg;
  let receiver: WebhookReceiver;
  let aIds: string[] = [];
  let bRecords: OrgRecords;
  let secrets: string[] = [];
  useOrgApp({ orgs: 2, env: { WEBHOOK_ALLOW_PRIVATE: 'true' }, overrides: { webhooks: { resolver, retryBaseSeconds: 0 } } }, (ready) => {
    s = ready;
    a = ready.org;
    b = ready.other;
  });

  const ok = async <T>(token: string, query: string, variables?: Record<string, unknown>): Promise<T> => {
    const res = await s.t.gql<T>(token, query, variables);
    if (res.errors) throw new Error(`setup: ${JSON.stringify(res.errors)}`);
    return res.data!;
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver([200]);
    await createRecords(s.t.gql, a.admin.token, 'Alpha');
    bRecords = await createRecords(s.t.gql, b.admin.token, 'Bravo');
    await ok(a.admin.token, 'mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }', {
      i: { url: `http://hooks.example:${receiver.port}/alpha`, events: ['BACKUP_COMPLETED', 'IMPORT_COMPLETED'] },
    });
    const started = await ok<{ startManualBackup: { id: string } }>(a.admin.token, 'mutation { startManualBackup { id } }');
    const backupId = started.startManualBackup.id;
    await waitForStatus(s.t.app.services.pool, backupId, ['COMPLETED'], 60_000);
    const link = await ok<{ createBackupDownloadLink: { url: string } }>(a.admin.token, 'mutation($id: ID!) { createBackupDownloadLink(id: $id) { url } }', { id: backupId });
    expect((await fetch(link.createBackupDownloadLink.url)).status).toBe(200);
    const restore = await ok<{ restoreBackup: { id: string } }>(a.admin.token, 'mutation($id: ID!) { restoreBackup(id: $id) { id } }', { id: backupId });
    await eventually(async () => {
      const { rows } = await s.t.app.services.pool.query('select status from import_jobs where id = $1', [restore.restoreBackup.id]);
      return rows[0]?.status === 'COMPLETED';
    }, 'the restore to complete', 60_000);
    await ok(a.admin.token, 'mutation { updateNotificationPreferences(email: false) { email } }');
    // Retention settings and a policy (switched off, so no sweep touches A's rows while the matrix runs).
    await ok(a.admin.token, 'mutation($i: RetentionSettingsInput!) { saveRetentionSettings(input: $i) { enabled } }', {
      i: { enabled: false, policies: [{ module: 'LEADS', enabled: true, action: 'MASK', retentionPeriod: { value: 2, unit: 'YEARS' }, actionPeriod: { value: 30, unit: 'DAYS' } }] },
    });
    // A PENDING scheduled backup (cancellable), then quiet: every webhook delivered, every notification written.
    await ok(a.admin.token, 'mutation { enableAutoBackup(input: { frequency: WEEKLY, dayOfWeek: MONDAY, timeOfDay: "03:00" }) { nextRunAt } }');
    await eventually(async () => {
      const { rows } = await s.t.app.services.pool.query<{ n: number }>(
        `select count(*) filter (where status = 'DELIVERED')::int as n from webhook_deliveries where organization_id = $1 having count(*) filter (where status <> 'DELIVERED') = 0`,
        [a.organizationId],
      );
      return (rows[0]?.n ?? 0) >= 2;
    }, 'A\'s webhooks to be delivered', 60_000);
    // The restore's retention recompute (and the clearing of the switch) end in the background: wait for them.
    await eventually(async () => {
      const { rows } = await s.t.app.services.pool.query('select 1 from retention_recomputes where organization_id = $1 and finished_at is null', [a.organizationId]);
      return rows.length === 0;
    }, 'A\'s retention recomputes to finish', 60_000);
    aIds = await idsOf(a.organizationId);
    secrets = [...aIds, 'Alpha', 'alpha', a.name, a.admin.email, a.standard.email];
  });
  afterAll(async () => receiver?.close());

  /** Up to three ids of every table an organization owns, and the organization's and its users' ids. */
  async function idsOf(organizationId: string): Promise<string[]> {
    const snapshot = await orgSnapshot(s.t.app.services.pool, organizationId);
    const ids = new Set<string>();
    for (const [table, rows] of Object.entries(snapshot)) {
      for (const row of (rows as { id?: unknown }[]).slice(0, 3)) if (typeof row.id === 'string') ids.add(row.id);
      if (table !== 'organizations' && !OPTIONAL_TABLES.has(table)) expect(rows, `organization A owns no ${table} row: add one to the set-up`).not.toHaveLength(0);
    }
    return [...ids];
  }

  /** Values of one argument or input field with `id` in every ID position; undefined: leave an optional one out. */
  function valuesOf(type: GraphQLInputType, where: string, id: string | undefined): unknown[] | undefined {
    const { list, named } = unwrap(type);
    const required = isNonNullType(type);
    const wrap = (values: unknown[]) => (list ? values.map((v) => [v]) : values);
    if (named.name === 'ID') return id === undefined ? (required ? wrap([bRecords.leadId]) : undefined) : wrap([id]);
    if (!required && !(isInputObjectType(named) && id !== undefined && hasIdField(named.name))) return undefined;
    if (isEnumType(named)) return wrap(named.getValues().map((v) => v.value));
    if (isInputObjectType(named)) {
      const minimal = MINIMAL_INPUTS[named.name];
      if (!minimal) throw new Error(`${where}: no minimal ${named.name} in isolation-matrix.table.ts MINIMAL_INPUTS`);
      const value: Record<string, unknown> = { ...minimal };
      for (const f of Object.values(named.getFields())) {
        if (isNonNullType(f.type) && !(f.name in value)) throw new Error(`MINIMAL_INPUTS.${named.name} lacks the required ${f.name}`);
        if (id !== undefined && isIdType(f.type)) value[f.name] = unwrap(f.type).list ? [id] : id;
      }
      return wrap([value]);
    }
    const scalar = SCALAR_VALUES[named.name];
    if (scalar === undefined) throw new Error(`${where}: no value for the required scalar ${named.name} in SCALAR_VALUES`);
    return wrap([scalar]);
  }

  function hasIdField(typeName: string): boolean {
    const type = schema.getType(typeName);
    return isInputObjectType(type) && Object.values(type.getFields()).some((f) => isIdType(f.type));
  }

  /** The cross product of every argument's values, for one id in every ID position (or none). */
  function variantsFor(op: Operation, id: string | undefined): Variant[] {
    let variants: Variant[] = [{}];
    for (const arg of op.field.args) {
      const values = valuesOf(arg.type, `${op.name}(${arg.name})`, id);
      if (values === undefined) continue;
      variants = variants.flatMap((v) => values.map((value) => ({ ...v, [arg.name]: value })));
    }
    return variants;
  }

  const takesIds = (op: Operation) => op.field.args.some((arg: GraphQLArgument) => isIdType(arg.type) || hasIdField(unwrap(arg.type).named.name));

  /** No id, string or name of A in the answer (other than an id the request itself sent). */
  function expectNoLeak(res: unknown, sent: Variant, what: string): void {
    const body = JSON.stringify(res);
    const echoed = JSON.stringify(sent);
    for (const secret of secrets) if (!echoed.includes(secret)) expect(body.includes(secret), `${what} leaks ${secret}: ${body.slice(0, 500)}`).toBe(false);
  }

  function isEmpty(value: unknown): boolean {
    if (value === null) return true;
    if (Array.isArray(value)) return value.length === 0;
    if (typeof value === 'object' && value && 'nodes' in value) return (value as { nodes: unknown[] }).nodes.length === 0;
    return false;
  }

  async function call(op: Operation, token: string, variant: Variant): Promise<GraphQLResponse> {
    const args = op.field.args.filter((arg) => arg.name in variant);
    const vars = Object.fromEntries(Object.entries(variant).map(([k, v]) => [`a_${k}`, v]));
    return s.t.gql(token, documentOf(op, args), vars);
  }

  function judge(op: Operation, res: GraphQLResponse, variant: Variant, withIds: boolean, what: string): void {
    expect(res.status, what).toBeLessThan(500);
    expectNoLeak(res, variant, what);
    const codes = (res.errors ?? []).map((e) => e.extensions?.code);
    expect(codes, what).not.toContain('INTERNAL_SERVER_ERROR');
    if (!withIds) return;
    const value = res.data?.[op.name];
    if (codes.length > 0) {
      for (const code of codes) expect(REFUSALS, `${what}: ${JSON.stringify(res.errors)}`).toContain(code);
      expect(value ?? null, what).toBeNull();
    } else if (SUCCESS_ALLOWED[op.name]) {
      expect(SUCCESS_ALLOWED[op.name]!(value), `${what}: ${JSON.stringify(value)}`).toBe(true);
    } else {
      expect(op.kind, `${what} succeeded: ${JSON.stringify(res.data)}`).toBe('query');
      expect(isEmpty(value), `${what} answered ${JSON.stringify(value)}`).toBe(true);
    }
  }

  const requestOps = ops.filter((op) => op.kind !== 'subscription');

  it('covers every query and mutation of the schema', () => {
    expect(requestOps.length).toBeGreaterThan(50);
    for (const op of requestOps) expect(() => variantsFor(op, aIds[0] ?? 'x')).not.toThrow();
  });

  describe.each(['admin', 'standard'] as const)('B\'s %s token', (role) => {
    it.each(requestOps.map((op) => [`${op.kind} ${op.name}`, op] as const))('%s: refused or empty with A\'s ids; A unchanged', async (_label, op) => {
      const token = b[role].token;
      const before = await orgSnapshot(s.t.app.services.pool, a.organizationId);
      const jobs: [Variant, boolean][] = variantsFor(op, undefined).map((v) => [v, false]);
      if (takesIds(op)) for (const id of aIds) for (const v of variantsFor(op, id)) jobs.push([v, true]);
      // An own record in the id argument, A's ids in the input's references (e.g. updateDeal(own, {accountId: A's})).
      const ownIds = Object.values(bRecords);
      if (op.field.args.some((arg) => hasIdField(unwrap(arg.type).named.name)) && op.field.args.some((arg) => isIdType(arg.type))) {
        for (const own of ownIds) for (const id of aIds) {
          for (const v of variantsFor(op, id)) {
            const mixed = { ...v };
            for (const arg of op.field.args) if (isIdType(arg.type)) mixed[arg.name] = own;
            jobs.push([mixed, true]);
          }
        }
      }
      for (let i = 0; i < jobs.length; i += 8) {
        const batch = jobs.slice(i, i + 8);
        const answers = await Promise.all(batch.map(([v]) => call(op, token, v)));
        answers.forEach((res, j) => judge(op, res, batch[j]![0], batch[j]![1], `${role} ${op.name}(${JSON.stringify(batch[j]![0])})`));
      }
      expect(await orgSnapshot(s.t.app.services.pool, a.organizationId), `${op.name} changed organization A's rows`).toEqual(before);
    });
  });

  it('subscriptions: B (ADMIN and STANDARD) never receives A\'s events, with or without A\'s ids', async () => {
    const subs = ops.filter((op) => op.kind === 'subscription');
    for (const op of subs) expect(SUBSCRIPTION_MARKERS[op.name], `no trigger for subscription ${op.name} in SUBSCRIPTION_MARKERS`).toBeDefined();
    const watchers: { what: string; variant: Variant; sub: ReturnType<typeof subscribe> }[] = [];
    const open = (role: 'admin' | 'standard', org: TestOrg, op: Operation, variant: Variant) => {
      const args = op.field.args.filter((arg) => arg.name in variant);
      const vars = Object.fromEntries(Object.entries(variant).map(([k, v]) => [`a_${k}`, v]));
      return subscribe(s.t.ws(org[role].token), documentOf(op, args), vars);
    };
    const own: Record<string, ReturnType<typeof subscribe>> = {};
    for (const op of subs) {
      for (const role of ['admin', 'standard'] as const) {
        for (const variant of [...variantsFor(op, undefined), ...(takesIds(op) ? aIds.flatMap((id) => variantsFor(op, id)) : [])]) {
          if (op.field.args.some((arg) => isNonNullType(arg.type) && isIdType(arg.type)) && !aIds.some((id) => JSON.stringify(variant).includes(id))) continue;
          watchers.push({ what: `${role} ${op.name}(${JSON.stringify(variant)})`, variant, sub: open(role, b, op, variant) });
        }
      }
      if (!op.field.args.some((arg) => isNonNullType(arg.type))) own[op.name] = open('admin', b, op, {});
    }
    const ctx = { t: s.t };
    // A's events, then B's own: once B's own have arrived, A's (published earlier, on the same channel) would have too.
    for (const op of subs) await SUBSCRIPTION_MARKERS[op.name]!.trigger(ctx, a);
    for (const op of subs) {
      const marker = SUBSCRIPTION_MARKERS[op.name]!;
      if (!own[op.name]) continue;
      await eventually(async () => {
        await marker.trigger(ctx, b);
        return own[op.name]!.events.length > 0;
      }, `B's own ${op.name} event`, 30_000);
    }
    for (const { what, variant, sub } of watchers) {
      expectNoLeak({ events: sub.events }, variant, what);
      for (const error of sub.errors) {
        const codes = (Array.isArray(error) ? error : [error]).map((e) => (e as { extensions?: { code?: string } }).extensions?.code);
        for (const code of codes) expect(REFUSALS, `${what}: ${JSON.stringify(error)}`).toContain(code);
      }
    }
    for (const w of watchers) w.sub.dispose();
    for (const sub of Object.values(own)) sub.dispose();
  }, 120_000);
});
