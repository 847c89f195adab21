import type { Readable } from 'node:stream';
import { notFound } from '../../shared/app-error.ts';
import type { BlobStore } from '../../storage/blob-store.ts';
import { backupNotDownloadable } from '../backup/backup.errors.ts';
import type { BackupArchives } from './restore.service.ts';

/** What restore reads of a backup: the backup feature's own row (scoped to the organization). */
export interface BackupLookup {
  get(organizationId: string, id: string): Promise<{ status: string; storageKey: string | null; fileName: string | null } | undefined>;
}

/**
 * The kept archive of a COMPLETED backup, through the blob store it was written to. The same rule as a download
 * link: an EXPIRED backup, or a COMPLETED one whose file is gone, has nothing to restore from.
 */
export function keptArchives(backups: BackupLookup, blobs: BlobStore): BackupArchives {
  const locate = async (organizationId: string, backupId: string) => {
    const row = await backups.get(organizationId, backupId);
    if (!row) throw notFound('backup');
    if (row.status !== 'COMPLETED' || !row.storageKey) throw backupNotDownloadable(row.status);
    if (!(await blobs.stat(row.storageKey))) throw backupNotDownloadable('COMPLETED');
    return { key: row.storageKey, fileName: row.fileName };
  };
  return {
    check: async (organizationId, backupId) => ({ fileName: (await locate(organizationId, backupId)).fileName }),
    openArchive: async (organizationId, backupId): Promise<Readable> => blobs.openRead((await locate(organizationId, backupId)).key),
  };
}
