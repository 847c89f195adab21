import type pg from 'pg';
import { Field, ObjectType } from 'type-graphql';

type Queryable = Pick<pg.PoolClient, 'query'>;

@ObjectType()
export class NotificationPreferences {
  @Field(() => Boolean, { description: 'Email for backups completed or failed and retention notices (ADMIN users)' })
  email!: boolean;
}

export async function findPreferences(q: Queryable, userId: string): Promise<NotificationPreferences> {
  const { rows } = await q.query<{ email: boolean }>('SELECT email FROM notification_preferences WHERE user_id = $1', [userId]);
  return { email: rows[0]?.email ?? true };
}

export async function savePreferences(q: Queryable, user: { userId: string; organizationId: string }, prefs: NotificationPreferences, at: Date): Promise<NotificationPreferences> {
  const { rows } = await q.query<{ email: boolean }>(
    `INSERT INTO notification_preferences (user_id, organization_id, email, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, updated_at = EXCLUDED.updated_at
     RETURNING email`,
    [user.userId, user.organizationId, prefs.email, at],
  );
  return { email: rows[0]!.email };
}

/** The organization's ADMIN users who want email (no preferences row: yes). */
export async function emailAdmins(q: Queryable, organizationId: string): Promise<{ id: string }[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT u.id FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id
     WHERE u.organization_id = $1 AND u.role = 'ADMIN' AND coalesce(p.email, true) ORDER BY u.id`,
    [organizationId],
  );
  return rows;
}

/** One recipient, checked again when the email is sent: still an ADMIN of the organization, still wanting email. */
export async function findEmailRecipient(q: Queryable, organizationId: string, userId: string): Promise<{ email: string } | undefined> {
  const { rows } = await q.query<{ email: string }>(
    `SELECT u.email FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id
     WHERE u.id = $1 AND u.organization_id = $2 AND u.role = 'ADMIN' AND coalesce(p.email, true)`,
    [userId, organizationId],
  );
  return rows[0];
}
