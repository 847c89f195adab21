import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { Config } from './config.ts';
import type { Db } from './db/client.ts';
import type { DbGovernor } from './db/db-governor.ts';
import type { EventBus } from './events/event-bus.ts';
import type { SubscriptionPubSub } from './graphql/subscription-pubsub.ts';
import type { AppMetrics } from './metrics/app-metrics.ts';
import type { ActivityService } from './modules/activity/activity.service.ts';
import type { AuthService } from './modules/auth/auth.service.ts';
import type { BackupService } from './modules/backup/backup.service.ts';
import type { CrmService } from './modules/crm/crm.service.ts';
import type { NotificationService } from './modules/notifications/notification.service.ts';
import type { EmailService } from './modules/notifications/email.service.ts';
import type { DomainEvents } from './events/domain-events.ts';
import type { WebhookService } from './modules/webhooks/webhook.service.ts';
import type { RetentionService } from './modules/retention/retention.service.ts';
import type { RestoreService } from './modules/restore/restore.service.ts';
import type { RateLimiter } from './http/rate-limiter.ts';
import type { Clock } from './shared/clock.ts';
import type { Logger } from './shared/logger.ts';
import type { BlobStore } from './storage/blob-store.ts';

/** Everything a resolver, a job handler or an HTTP route may use. Built once per app, passed in (no globals). */
export interface Services {
  config: Config;
  log: Logger;
  clock: Clock;
  appSecret: string;
  pool: pg.Pool;
  db: Db;
  /** Statement timeout and per-organization cap on the pool's use by GraphQL requests. */
  dbGovernor: DbGovernor;
  /** Publish/subscribe over LISTEN/NOTIFY: features publish here; any consumer may listen. */
  events: EventBus;
  /** GraphQL subscriptions' view of `events`. */
  pubsub: SubscriptionPubSub;
  boss: PgBoss;
  auth: AuthService;
  /** RATE_LIMIT_PER_MINUTE, per token or client address, in this process (http/admission.ts applies it). */
  rateLimiter: RateLimiter;
  crm: CrmService;
  activity: ActivityService;
  notifications: NotificationService;
  /** Events that leave the service (email, webhooks): consumers enqueue their jobs in the producer's transaction. */
  domainEvents: DomainEvents;
  /** Set when SMTP_URL is. */
  email: EmailService | undefined;
  /** Webhook endpoints (ADMIN) and their deliveries. */
  webhooks: WebhookService;
  retention: RetentionService;
  /** Backup archives (STORAGE_DIR). */
  storage: BlobStore;
  backups: BackupService;
  /** Imports (POST /imports) and restores from kept archives. */
  restore: RestoreService;
  /** Prometheus metrics of this app (`GET /metrics`); features record what they did here. */
  metrics: AppMetrics;
  readiness(): Promise<{ ok: boolean; database: boolean; migrations: boolean }>;
  /** Called after records were loaded in bulk (seed): lets features derive what they keep per record. */
  afterBulkLoad?(organizationId: string): Promise<void>;
}
