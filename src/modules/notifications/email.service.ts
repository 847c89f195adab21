import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { Transporter } from 'nodemailer';
import type { DomainEvent, DomainEventConsumer } from '../../events/domain-events.ts';
import { enqueueInTransaction } from '../../jobs/job-enqueue.ts';
import type { Logger } from '../../shared/logger.ts';
import { findOrganization } from '../auth/auth.repository.ts';
import type { BackupService } from '../backup/backup.service.ts';
import type { Db } from '../../db/client.ts';
import { backupCompletedMessage, backupFailedMessage, retentionNoticeMessage, type EmailMessage } from './email-messages.ts';
import { emailAdmins, findEmailRecipient } from './notification-preferences.ts';

export const EMAIL_QUEUE = 'email-send';

/** The events that are emailed (API.md §6 "Email"). */
export type EmailEvent = Extract<DomainEvent, { type: 'backup.completed' | 'backup.failed' | 'retention.notice' }>;

export interface EmailJob {
  organizationId: string;
  userId: string;
  event: EmailEvent;
}

const isEmailed = (event: DomainEvent): event is EmailEvent =>
  event.type === 'backup.completed' || event.type === 'backup.failed' || event.type === 'retention.notice';

export interface EmailDeps {
  pool: pg.Pool;
  db: Db;
  boss: PgBoss;
  log: Logger;
  backups: BackupService;
  /** Built from SMTP_URL (nodemailer); only when it is set. */
  transport: Transporter;
  mailFrom: string;
  linkTtlSeconds: number;
  keptArchives: number;
}

/**
 * Email (API.md §6): one job per event and recipient, enqueued in the transaction of the event, so an email
 * is never sent for a change that rolled back and never lost for want of a listening worker. The job composes
 * and sends when it runs (a fresh link, the recipient checked again) and pg-boss retries it on SMTP failure.
 */
export class EmailService {
  constructor(private readonly deps: EmailDeps) {}

  readonly consumer: DomainEventConsumer = async (client, event) => {
    if (!isEmailed(event)) return;
    for (const admin of await emailAdmins(client, event.organizationId)) {
      const job: EmailJob = { organizationId: event.organizationId, userId: admin.id, event };
      await enqueueInTransaction(this.deps.boss, client, EMAIL_QUEUE, job);
    }
  };

  /** Sends one job's email; throws (so pg-boss retries) when the SMTP server refuses or cannot be reached. */
  async send(job: EmailJob): Promise<'sent' | 'skipped'> {
    const { deps } = this;
    const recipient = await findEmailRecipient(deps.pool, job.organizationId, job.userId);
    const message = recipient && (await this.compose(job));
    if (!recipient || !message) return 'skipped';
    await deps.transport.sendMail({ from: deps.mailFrom, to: recipient.email, subject: message.subject, text: message.text });
    deps.log.info({ userId: job.userId, event: job.event.type }, 'email sent');
    return 'sent';
  }

  private async compose(job: EmailJob): Promise<EmailMessage | undefined> {
    const { deps } = this;
    const organization = await findOrganization(deps.db, job.organizationId);
    if (!organization) return undefined;
    const { event } = job;
    if (event.type === 'retention.notice') return retentionNoticeMessage(organization.name, event);
    const backup = await deps.backups.get(job.organizationId, event.backupId);
    if (!backup) return undefined;
    if (event.type === 'backup.failed') return backupFailedMessage(organization.name, backup);
    // Signed now, not when enqueued: a retried email carries a link as fresh as a first one.
    return backupCompletedMessage(organization.name, backup, deps.backups.signedLink(backup, deps.linkTtlSeconds), deps.keptArchives);
  }
}
