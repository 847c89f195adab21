import type { DomainEvent } from '../../events/domain-events.ts';
import { findBackup } from '../backup/backup.repository.ts';
import { CRM_MODULE_NAMES } from '../crm/crm.modules.ts';
import { findImportJob } from '../restore/import-job.repository.ts';
import type { Queryable } from './webhook.repository.ts';
import type { WebhookEventTypeName } from './webhook.types.ts';

const EVENT_OF: Partial<Record<DomainEvent['type'], WebhookEventTypeName>> = {
  'backup.completed': 'BACKUP_COMPLETED',
  'backup.failed': 'BACKUP_FAILED',
  'import.completed': 'IMPORT_COMPLETED',
  'import.failed': 'IMPORT_FAILED',
  'retention.swept': 'RETENTION_SWEPT',
};

export function webhookEventOf(event: DomainEvent): WebhookEventTypeName | undefined {
  return EVENT_OF[event.type];
}

/**
 * The `data` of a webhook body (API.md §6), read in the event's transaction: ids, counts, checksums; never
 * personal data. Undefined when the subject is gone (nothing to tell).
 */
export async function webhookData(q: Queryable, event: DomainEvent): Promise<Record<string, unknown> | undefined> {
  const { organizationId } = event;
  switch (event.type) {
    case 'backup.completed': {
      const b = await findBackup(q, organizationId, event.backupId);
      if (!b) return undefined;
      const counts = new Map(b.modules.map((m) => [m.module, m.recordCount]));
      const records = Object.fromEntries(CRM_MODULE_NAMES.map((m) => [m, counts.get(m) ?? 0]));
      return { organizationId, backupId: b.id, fileName: b.fileName, sizeBytes: b.sizeBytes, sha256: b.sha256, records };
    }
    case 'backup.failed': {
      const b = await findBackup(q, organizationId, event.backupId);
      return b && { organizationId, backupId: b.id, error: b.error };
    }
    case 'import.completed':
    case 'import.failed': {
      const job = await findImportJob(q, organizationId, event.importId);
      return job && { organizationId, importId: job.id, created: job.created, updated: job.updated, skipped: job.skipped, failed: job.failed };
    }
    case 'retention.swept':
      return { organizationId, expired: event.expired, masked: event.masked, deleted: event.deleted };
    default:
      return undefined;
  }
}
