import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArchive } from '../../src/export/archive-builder.ts';
import { openZip } from '../../src/import/zip-file.ts';
import { vaultContext } from '../../src/modules/retention/retention-records.service.ts';
import { RetentionService } from '../../src/modules/retention/retention.service.ts';
import { createVaultCipher, VaultCryptoError } from '../../src/modules/retention/vault-crypto.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { applyPolicy, count, gqlOk, stopCronSweep, UPDATE_RECORD_RETENTION } from '../support/retention-helpers.ts';
import { codeOf, startTestApp, TEST_SECRET } from '../support/test-app.ts';

type Started = Awaited<ReturnType<typeof startTestApp>>;

const PERSONAL = {
  firstName: 'Quintessa',
  lastName: 'Vantablack',
  email: 'quintessa.vantablack@secret.example',
  phone: '+65 8765 4321',
  address: '7 Hidden Garden Road, Singapore 123456',
  notes: 'Allergic to peanuts; prefers Tuesdays',
};
const VALUES = Object.values(PERSONAL);
const OTHER_SECRET = 'another-secret-that-is-long-enough-0123456789';

/** PDPA/GDPR: once masked, personal data lives only encrypted in the vault — not in logs, events, backups. */
describe('retention leaks nothing', () => {
  const clock = new ManualClock('2025-01-01T00:00:00.000Z');
  const lines: string[] = [];
  let t: Started;
  let org: TestOrg;
  let id: string;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    t = await startTestApp({ clock, log: createLogger('trace', { role: 'all' }, sink) });
    await stopCronSweep(t.app);
    org = await createOrg(t.app);
    const res = await gqlOk<{ createContact: { id: string } }>(t.gql, org.admin.token, 'mutation($input: ContactInput!) { createContact(input: $input) { id } }', { input: PERSONAL });
    id = res.createContact.id;
    await t.db.pool.query(`update contacts set created_at = '2024-06-01T00:00:00Z' where id = $1`, [id]);
    await applyPolicy(t.gql, t.db.pool, org.admin.token, { module: 'CONTACTS', retentionPeriod: { value: 6, unit: 'MONTHS' }, action: 'MASK', actionPeriod: { value: 1, unit: 'YEARS' } });
    expect(await t.app.services.retention.sweep()).toEqual({ expired: 0, masked: 1, deleted: 0 });
  });
  afterAll(async () => t.close());

  it('the masked row holds no original value', async () => {
    const { rows } = await t.db.pool.query('select * from contacts where id = $1', [id]);
    const row = JSON.stringify(rows[0]);
    for (const value of VALUES) expect(row).not.toContain(value);
    expect(rows[0]).toMatchObject({ first_name: 'Q***', email: 'q***@secret.example', phone: '******21', retention_state: 'MASKED' });
  });

  it('the vault ciphertext reveals nothing, decrypts with APP_SECRET, and is useless with another secret', async () => {
    const { rows } = await t.db.pool.query<{ ciphertext: Buffer }>('select ciphertext from retention_vault where record_id = $1', [id]);
    const blob = rows[0]!.ciphertext;
    for (const value of VALUES) expect(blob.includes(Buffer.from(value))).toBe(false);
    const context = vaultContext(org.organizationId, 'CONTACTS', id);
    expect(JSON.parse(createVaultCipher(TEST_SECRET).decrypt(blob, context).toString())).toEqual(PERSONAL);
    expect(() => createVaultCipher(OTHER_SECRET).decrypt(blob, context)).toThrow(VaultCryptoError);
    // Bound to its record: the same blob does not open as another record's.
    expect(() => createVaultCipher(TEST_SECRET).decrypt(blob, vaultContext(org.organizationId, 'CONTACTS', org.admin.userId))).toThrow(VaultCryptoError);
  });

  it('a service with another APP_SECRET cannot unmask: it fails and nothing changes', async () => {
    const s = t.app.services;
    const wrong = new RetentionService({ pool: s.pool, clock, appSecret: OTHER_SECRET, boss: s.boss, activity: s.activity, notifications: s.notifications, log: s.log });
    const snapshot = async () => (await t.db.pool.query('select c.*, v.ciphertext from contacts c join retention_vault v on v.record_id = c.id where c.id = $1', [id])).rows;
    const before = await snapshot();
    const viewer = { userId: org.admin.userId, organizationId: org.organizationId, role: 'ADMIN' as const, email: org.admin.email };
    await expect(wrong.records.updateRecordRetention(viewer, 'CONTACTS', id, new Date('2030-01-01T00:00:00Z'))).rejects.toThrow(VaultCryptoError);
    expect(await snapshot()).toEqual(before);
  });

  it('a backup taken after masking holds the masked values only', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'retention-backup-'));
    try {
      const file = path.join(dir, 'backup.zip');
      const organization = { id: org.organizationId, name: org.name };
      await buildArchive({
        connectionString: t.db.url,
        organizationId: org.organizationId,
        organization,
        backupId: '00000000-0000-4000-8000-000000000001',
        trigger: 'MANUAL',
        createdAt: clock.now(),
        modules: ['CONTACTS'],
        out: createWriteStream(file),
        inline: true,
      });
      const zip = await openZip(file, 'backup.zip');
      try {
        const csv = await text(await zip.open('contacts.csv'));
        expect(csv).toContain('Q***');
        expect(csv).toContain('q***@secret.example');
        for (const value of VALUES) expect(csv).not.toContain(value);
        expect(zip.names().some((n) => n.includes('vault'))).toBe(false);
      } finally {
        zip.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('unmask, re-mask and delete: activity events, notifications and tombstones carry no personal data', async () => {
    clock.set('2025-01-02T00:00:00.000Z');
    await gqlOk(t.gql, org.admin.token, UPDATE_RECORD_RETENTION, { module: 'CONTACTS', id, at: '2025-02-01T00:00:00.000Z' });
    clock.set('2025-02-01T00:00:00.000Z');
    expect(await t.app.services.retention.sweep()).toMatchObject({ masked: 1 });
    clock.set('2026-02-01T00:00:00.000Z');
    expect(await t.app.services.retention.sweep()).toMatchObject({ deleted: 1 });
    expect(codeOf(await t.gql(org.admin.token, 'query($id: ID!) { contact(id: $id) { id } }', { id }))).toBe('NOT_FOUND');
    const stored = JSON.stringify([
      (await t.db.pool.query('select * from activity_events')).rows,
      (await t.db.pool.query('select * from notifications')).rows,
      (await t.db.pool.query('select * from tombstones')).rows,
      (await t.db.pool.query('select * from retention_vault')).rows,
    ]);
    for (const value of VALUES) expect(stored).not.toContain(value);
    expect(await count(t.db.pool, `select count(*)::int as n from activity_events where kind like 'retention.%'`)).toBeGreaterThan(4);
  });

  it('no log line, at trace level, through all of the above, contains a personal value', () => {
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('retention sweep done'))).toBe(true);
    const leaks = lines.filter((line) => VALUES.some((v) => line.includes(v)));
    expect(leaks).toEqual([]);
  });
});
