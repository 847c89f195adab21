import type { BackupRow } from '../backup/backup.types.ts';

/** A message to one recipient: plain text, so every client shows the link as it is. */
export interface EmailMessage {
  subject: string;
  text: string;
}

const when = (date: Date | null) => (date ? `${date.toISOString().replace('T', ' ').slice(0, 16)} UTC` : 'an unknown time');

function size(bytes: number | null): string {
  const n = bytes ?? 0;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1024))} kB`;
}

/** "Backup completed", with a link, or the reason the archive can no longer be fetched. Pure. */
export function backupCompletedMessage(
  organizationName: string,
  backup: BackupRow,
  link: { url: string; expiresAt: Date } | undefined,
  keptArchives: number,
): EmailMessage {
  const lines = [
    `The ${backup.trigger.toLowerCase()} backup of ${organizationName} completed at ${when(backup.finishedAt)}: ` +
      `${backup.processedRecords} records, ${size(backup.sizeBytes)}.`,
    '',
  ];
  if (link) {
    lines.push(
      `Download ${backup.fileName ?? 'the archive'} (the link is valid until ${when(link.expiresAt)}):`,
      link.url,
      '',
      `The link stops working sooner if newer backups replace this archive: the last ${keptArchives} archives are kept.`,
    );
  } else {
    lines.push('Newer backups have already replaced this archive, so it can no longer be downloaded.');
  }
  return { subject: `Backup completed: ${organizationName}`, text: lines.join('\n') };
}

/** "Backup failed", saying why (the public reason recorded on the backup, never paths or SQL). Pure. */
export function backupFailedMessage(organizationName: string, backup: BackupRow): EmailMessage {
  return {
    subject: `Backup failed: ${organizationName}`,
    text: [
      `The ${backup.trigger.toLowerCase()} backup of ${organizationName} failed at ${when(backup.finishedAt)}.`,
      '',
      `Reason: ${backup.error ?? 'unknown'}`,
      '',
      'No archive was kept for this backup. You can start a new one from the backup settings.',
    ].join('\n'),
  };
}

/** The retention notice: the in-app notification's text (counts and dates, no personal data). Pure. */
export function retentionNoticeMessage(organizationName: string, notice: { title: string; body: string }): EmailMessage {
  return {
    subject: `${notice.title} (${organizationName})`,
    text: [
      `${notice.body}`,
      '',
      `Records of ${organizationName} reach the end of their retention period. To keep one, change its retention date ` +
        'or place it on legal hold before then.',
    ].join('\n'),
  };
}
