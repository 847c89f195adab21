import {
  sql,
  boolean,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uuid,
} from '../../db/drizzle-orm.ts';
import { organizations } from '../auth/auth.table.ts';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    events: text('events').array().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** The signing secret, encrypted (AES-256-GCM, key derived from APP_SECRET): shown once, never readable again. */
    secretCiphertext: bytea('secret_ciphertext').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('webhook_endpoints_org_idx').on(t.organizationId, t.createdAt)],
);

/** One row per attempt; the attempts of one event share `webhook_id` (the Standard Webhooks message id). */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    webhookId: text('webhook_id').notNull(),
    event: text('event').notNull(),
    /** The JSON body `{type, timestamp, data}`, the same bytes on every attempt. */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    attempt: integer('attempt').notNull(),
    /** The last attempt of this series: 8 for an event's deliveries, the attempt itself for a redelivery. */
    lastAttempt: integer('last_attempt').notNull(),
    status: text('status', { enum: ['PENDING', 'DELIVERED', 'RETRYING', 'FAILED'] }).notNull().default('PENDING'),
    responseStatus: integer('response_status'),
    error: text('error'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt, t.id),
    index('webhook_deliveries_created_idx').on(t.createdAt),
    check('webhook_deliveries_status_ck', sql`${t.status} in ('PENDING', 'DELIVERED', 'RETRYING', 'FAILED')`),
    check('webhook_deliveries_attempt_ck', sql`${t.attempt} >= 1 and ${t.attempt} <= ${t.lastAttempt}`),
  ],
);
