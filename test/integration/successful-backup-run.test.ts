import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventNotifyQuery } from '../../src/events/event-topics.ts';
import * as repo from '../../src/modules/backup/backup.repository.ts';
import { createOrg, type TestOrg } from '../support/factories.ts';
import { publishUntilReceived } from '../support/foundation-helpers.ts';
import { startTestApp, subscribe } from '../support/test-app.ts';
import { BACKUP_FIELDS, seedRecords, tempStorageDir, verifyZip, type BackupView, type RunningApp } from '../support/backup-helpers.ts';

type EventMsg = { backupEvents: { kind: string; at: string; backup: { id: string; status: string; progress: { processedRecords: number; totalRecords: number; percent: number; module: string | null } | null } } };
const EVENTS = 'subscription($id: ID) { backupEvents(backupId: $id) { kind at backup { id status progress { processedRecords totalRecords percent module } } } }';
type NotificationMsg = { notificationAdded: { id: string; kind: string; title: string; backupId: string | null } };
const SEED = { leads: 1500, contacts: 3000, accounts: 200, deals: 400 };

/**
 * Scale-out end to end: the client talks to an api process; a separate worker process (same database) runs the
 * backup; events and notifications reach the client through LISTEN/NOTIFY.
 */
describe('a manual backup run by a separate worker', () => {
  let api: RunningApp;
  let worker: RunningApp;
  let storage: string;
  let org: TestOrg;
  let other: TestOrg;
  let warmUpId: string;
  let foreignWarmUpId: string;
  beforeAll(async () => {
    storage = await tempStorageDir();
    api = await startTestApp({ role: 'api', env: { STORAGE_DIR: storage } });
    org = await createOrg(api.app);
    other = await createOrg(api.app);
    await seedRecords(api.app.services.pool, org.organizationId, SEED);
    // A backup that exists only to prove subscriptions live (a cancelled one: no worker ever takes it). It is
    // cancelled before the worker starts: a worker wakes on the job's NOTIFY and would start it at once.
    const warmUp = await api.gql<{ startManualBackup: { id: string } }>(org.admin.token, 'mutation { startManualBackup { id } }');
    warmUpId = warmUp.data!.startManualBackup.id;
    const cancelled = await api.gql<{ cancelBackup: { id: string } }>(org.admin.token, 'mutation($id: ID!) { cancelBackup(id: $id) { id } }', { id: warmUpId });
    if (cancelled.errors) throw new Error(`warm-up backup not cancelled: ${JSON.stringify(cancelled.errors)}`);
    // The other organization's own cancelled backup (no job: no worker ever takes it), to prove its subscriber live.
    const foreignRow = await repo.insertPending(api.app.services.pool, { organizationId: other.organizationId, trigger: 'MANUAL', requestedBy: null, createdAt: new Date(), scheduledFor: null });
    foreignWarmUpId = foreignRow!.id;
    await repo.cancelPending(api.app.services.pool, other.organizationId, foreignWarmUpId, new Date());
    worker = await startTestApp({ role: 'worker', db: api.db, env: { STORAGE_DIR: storage } });
  });
  afterAll(async () => {
    await worker.close();
    await api.close();
    await fs.rm(storage, { recursive: true, force: true });
  });

  const pokeForeign = () => api.app.services.pool.query(eventNotifyQuery('backupEvent', other.organizationId, { backupId: foreignWarmUpId, kind: 'CANCELLED', at: new Date().toISOString() }));
  const pokeWarmUp = () => api.app.services.pool.query(eventNotifyQuery('backupEvent', org.organizationId, { backupId: warmUpId, kind: 'CANCELLED', at: new Date().toISOString() }));

  it('streams PENDING, STARTED, PROGRESS and COMPLETED, notifies the requester, and leaves a valid archive', async () => {
    const all = subscribe<EventMsg>(api.ws(org.admin.token), EVENTS);
    const onlyWarmUp = subscribe<EventMsg>(api.ws(org.admin.token), EVENTS, { id: warmUpId });
    const foreign = subscribe<EventMsg>(api.ws(other.admin.token), EVENTS);
    const notes = subscribe<NotificationMsg>(api.ws(org.admin.token), 'subscription { notificationAdded { id kind title backupId } }');
    await publishUntilReceived(() => all.events.length, pokeWarmUp);
    await publishUntilReceived(() => onlyWarmUp.events.length, pokeWarmUp);
    await publishUntilReceived(() => notes.events.length, () => api.app.services.notifications.notify([org.admin.userId], { organizationId: org.organizationId, kind: 'test.ping', title: 'warm-up' }));
    await publishUntilReceived(() => foreign.events.length, pokeForeign);
    const warmUps = onlyWarmUp.events.length;
    const foreignWarmUps = foreign.events.length;

    const started = await api.gql<{ startManualBackup: BackupView }>(org.admin.token, `mutation { startManualBackup { ${BACKUP_FIELDS} } }`);
    const backup = started.data!.startManualBackup;
    expect(backup).toMatchObject({ status: 'PENDING', trigger: 'MANUAL', requestedBy: { id: org.admin.userId }, progress: null, downloadable: false });

    await all.waitFor((e) => e.backupEvents.backup.id === backup.id && e.backupEvents.kind === 'COMPLETED', 60_000);
    const kinds = all.events.filter((e) => e.backupEvents.backup.id === backup.id).map((e) => e.backupEvents.kind);
    expect(kinds[0]).toBe('PENDING');
    expect(kinds[1]).toBe('STARTED');
    expect(kinds.at(-1)).toBe('COMPLETED');
    expect(kinds.filter((k) => k === 'PROGRESS').length).toBeGreaterThanOrEqual(2);
    expect(kinds.slice(2, -1).every((k) => k === 'PROGRESS')).toBe(true);
    const progress = all.events.filter((e) => e.backupEvents.kind === 'PROGRESS').map((e) => e.backupEvents.backup.progress);
    expect(progress.some((p) => p !== null && p.processedRecords > 0 && p.processedRecords <= p.totalRecords)).toBe(true);

    const note = await notes.waitFor((n) => n.notificationAdded.backupId === backup.id, 10_000);
    expect(note.notificationAdded).toMatchObject({ kind: 'backup.completed', title: 'Backup completed' });

    // Subscribers of one backup, or of another organization, heard nothing of this one.
    await pokeWarmUp();
    await onlyWarmUp.next(warmUps + 1);
    expect(onlyWarmUp.events.every((e) => e.backupEvents.backup.id === warmUpId)).toBe(true);
    // The other organization's subscriber is still live, and only ever heard of its own backup.
    await pokeForeign();
    await foreign.next(foreignWarmUps + 1);
    expect(foreign.errorsSoFar()).toEqual([]);
    expect(foreign.events.map((e) => e.backupEvents.backup.id)).toEqual(foreign.events.map(() => foreignWarmUpId));
  });

  it('shows the finished backup with its summary and a archive that independent readers accept', async () => {
    const list = await api.gql<{ backups: { nodes: BackupView[]; totalCount: number } }>(org.admin.token, `{ backups(status: [COMPLETED]) { totalCount nodes { ${BACKUP_FIELDS} } } }`);
    expect(list.data?.backups.totalCount).toBe(1);
    const backup = list.data!.backups.nodes[0]!;
    const total = SEED.leads + SEED.contacts + SEED.accounts + SEED.deals;
    expect(backup).toMatchObject({
      status: 'COMPLETED',
      downloadable: true,
      error: null,
      progress: { processedRecords: total, totalRecords: total, percent: 100, module: null },
    });
    expect(backup.modules).toEqual([
      { module: 'LEADS', recordCount: SEED.leads },
      { module: 'CONTACTS', recordCount: SEED.contacts },
      { module: 'ACCOUNTS', recordCount: SEED.accounts },
      { module: 'DEALS', recordCount: SEED.deals },
    ]);
    expect(backup.fileName).toMatch(/^crm-backup-org-[a-z0-9-]+-\d{8}T\d{6}Z\.zip$/);

    const { rows } = await api.app.services.pool.query<{ storage_key: string }>('select storage_key from backups where id = $1', [backup.id]);
    const file = path.join(storage, rows[0]!.storage_key);
    const bytes = await fs.readFile(file);
    expect(bytes.length).toBe(backup.sizeBytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(backup.sha256);
    const zip = await verifyZip(file);
    expect(zip.names.sort()).toEqual(
      ['accounts.csv', 'accounts.xlsx', 'contacts.csv', 'contacts.xlsx', 'deals.csv', 'deals.xlsx', 'leads.csv', 'leads.xlsx', 'manifest.json'].sort(),
    );
    expect(zip.manifest).toMatchObject({ formatVersion: 2, backupId: backup.id, trigger: 'MANUAL', organization: { id: org.organizationId } });
    // Nothing unfinished is left in the store.
    expect((await fs.readdir(path.dirname(file))).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('records every transition in the activity stream, by whom, without personal data', async () => {
    const res = await api.gql<{ activityStream: { nodes: { kind: string; summary: string; subjectId: string; actor: { id: string } | null }[] } }>(
      org.admin.token,
      '{ activityStream(first: 50, kinds: ["backup.pending", "backup.started", "backup.completed", "backup.cancelled"]) { nodes { kind summary subjectId actor { id } } } }',
    );
    const completedId = (await api.app.services.pool.query<{ id: string }>(`select id from backups where organization_id = $1 and status = 'COMPLETED'`, [org.organizationId])).rows[0]!.id;
    const events = res.data!.activityStream.nodes.filter((n) => n.subjectId === completedId).reverse();
    expect(events.map((e) => e.kind)).toEqual(['backup.pending', 'backup.started', 'backup.completed']);
    expect(events[0]!.actor).toEqual({ id: org.admin.userId });
    expect(events[2]!.summary).toContain(`${SEED.leads + SEED.contacts + SEED.accounts + SEED.deals} records`);
    // No personal value of the records this test seeded (names, emails, phones) appears in the stream.
    const seeded = await api.app.services.pool.query<Record<string, string | null>>(
      `select first_name, last_name, email, phone from contacts where organization_id = $1
       union all select first_name, last_name, email, phone from leads where organization_id = $1`,
      [org.organizationId],
    );
    expect(seeded.rows).toHaveLength(SEED.contacts + SEED.leads);
    const stream = JSON.stringify(res.data);
    expect(seeded.rows.flatMap((row) => Object.values(row)).filter((value) => value !== null && stream.includes(value))).toEqual([]);
    expect(stream).not.toMatch(/@example\.com/);
  });
});
