import { index, pgTable, text, timestamp, uuid } from '../../db/drizzle-orm.ts';
import { organizations } from '../auth/auth.table.ts';
import { backups } from './backup.table.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

/**
 * Download links that have been used, so a link's download is recorded in the (append-only) activity stream
 * once, however many times it is fetched or resumed: the primary key makes "first use" a rule of the database.
 * Keyed by a hash of the link's signature, never the signature itself (that would be a usable link until it
 * expires). Rows are useless once the link expires (an expired link is refused) and are pruned then.
 */
export const backupDownloadLinks = pgTable(
  'backup_download_links',
  {
    signatureHash: text('signature_hash').primaryKey(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    backupId: uuid('backup_id')
      .notNull()
      .references(() => backups.id, { onDelete: 'cascade' }),
    expiresAt: ts('expires_at').notNull(),
    firstUsedAt: ts('first_used_at').notNull().defaultNow(),
  },
  (t) => [index('backup_download_links_expires_idx').on(t.expiresAt)],
);
