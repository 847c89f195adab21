import type { Queryable } from './backup.repository.ts';

/**
 * Marks a link as used; true only for the first use, whoever else races for it (the primary key decides).
 * Links expired before `now` are pruned on the way: they can never be used again.
 */
export async function claimDownloadLink(
  q: Queryable,
  link: { signatureHash: string; organizationId: string; backupId: string; expiresAt: Date },
  now: Date,
): Promise<boolean> {
  await q.query('delete from backup_download_links where expires_at < $1', [now]);
  const { rowCount } = await q.query(
    `insert into backup_download_links (signature_hash, organization_id, backup_id, expires_at)
     values ($1, $2, $3, $4) on conflict (signature_hash) do nothing`,
    [link.signatureHash, link.organizationId, link.backupId, link.expiresAt],
  );
  return rowCount === 1;
}
