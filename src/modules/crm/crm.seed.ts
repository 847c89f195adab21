import type pg from 'pg';
import { withTransaction } from '../../db/transaction.ts';

export interface SeedCounts {
  accounts: number;
  contacts: number;
  leads: number;
  deals: number;
}

const FIRST = `array['Aisha','Ben','Chen','Dewi','Elena','Farid','Grace','Hiro','Isabel','Jun','Kavya','Liam','Mei','Nadia','Omar','Priya','Quinn','Ravi','Sofia','Tomas']`;
const LAST = `array['Tan','Lim','Ng','Wong','Kumar','Garcia','Smith','Nguyen','Rahman','Chua','Lee','Ong','Patel','Silva','Koh']`;
const STAGES = `array['Qualification','Proposal','Negotiation','Closed Won','Closed Lost']`;

/**
 * Fills an organization with plausible records, generated inside PostgreSQL (INSERT … SELECT from
 * generate_series): one statement per module, so a million contacts take seconds, not minutes.
 * Creation dates spread over the last three years, so retention policies have something to act on.
 * Records are owned by the organization's first admin.
 */
export async function seedOrganization(pool: pg.Pool, organizationId: string, counts: SeedCounts): Promise<SeedCounts> {
  return withTransaction(pool, async ({ q }) => {
    const owner = await q.query<{ id: string }>(
      "select id from users where organization_id = $1 order by (role = 'ADMIN') desc, created_at limit 1",
      [organizationId],
    );
    const ownerId = owner.rows[0]?.id ?? null;
    const args = (n: number) => [organizationId, ownerId, n];
    if (counts.accounts > 0) await q.query(ACCOUNTS_SQL, args(counts.accounts));
    if (counts.contacts > 0) await q.query(CONTACTS_SQL, args(counts.contacts));
    if (counts.leads > 0) await q.query(LEADS_SQL, args(counts.leads));
    if (counts.deals > 0) await q.query(DEALS_SQL, args(counts.deals));
    return counts;
  });
}

const CREATED = `now() - ((i * 7919) % 1095) * interval '1 day' - ((i * 104729) % 86400) * interval '1 second'`;

const ACCOUNTS_SQL = `
insert into accounts (organization_id, owner_id, name, domain, industry, phone, address, created_at, updated_at)
select $1, $2, 'Company ' || i, 'company' || i || '.example.com',
       (array['Software','Retail','Logistics','Finance','Healthcare'])[1 + i % 5],
       '+65 6' || lpad((i % 10000000)::text, 7, '0'), i || ' Market Street, Singapore', ${CREATED}, ${CREATED}
from generate_series(1::bigint, $3::bigint) as i`;

const CONTACTS_SQL = `
with acc as (select array_agg(id) as ids from (select id from accounts where organization_id = $1 limit 10000) a)
insert into contacts (organization_id, owner_id, first_name, last_name, email, phone, job_title, address, notes,
                      account_id, created_at, updated_at)
select $1, $2, (${FIRST})[1 + i % 20], (${LAST})[1 + i % 15], 'contact' || i || '@example.com',
       '+65 9' || lpad((i % 10000000)::text, 7, '0'),
       (array['CEO','CTO','Buyer','Engineer','Manager'])[1 + i % 5], i || ' Orchard Road, Singapore',
       case when i % 3 = 0 then 'Met at trade fair, follow up' end,
       case when acc.ids is null then null else acc.ids[1 + i % cardinality(acc.ids)] end,
       ${CREATED}, ${CREATED}
from generate_series(1::bigint, $3::bigint) as i, acc`;

const LEADS_SQL = `
insert into leads (organization_id, owner_id, first_name, last_name, email, phone, company, title, status, source, notes,
                   created_at, updated_at)
select $1, $2, (${FIRST})[1 + i % 20], (${LAST})[1 + i % 15], 'lead' || i || '@example.com',
       '+65 8' || lpad((i % 10000000)::text, 7, '0'), 'Prospect ' || i, 'Head of Operations',
       (array['New','Contacted','Qualified','Unqualified'])[1 + i % 4],
       (array['Web','Referral','Event','Cold call'])[1 + i % 4], null, ${CREATED}, ${CREATED}
from generate_series(1::bigint, $3::bigint) as i`;

const DEALS_SQL = `
with acc as (select array_agg(id) as ids from (select id from accounts where organization_id = $1 limit 10000) a),
     con as (select array_agg(id) as ids from (select id from contacts where organization_id = $1 limit 10000) c)
insert into deals (organization_id, owner_id, name, amount, currency, stage, close_date, account_id, contact_id,
                   created_at, updated_at)
select $1, $2, 'Deal ' || i, round(((i * 7919) % 500000)::numeric + 0.5, 2)::float8, 'SGD', (${STAGES})[1 + i % 5],
       (current_date + (i % 365)::int)::date,
       case when acc.ids is null then null else acc.ids[1 + i % cardinality(acc.ids)] end,
       case when con.ids is null then null else con.ids[1 + i % cardinality(con.ids)] end,
       ${CREATED}, ${CREATED}
from generate_series(1::bigint, $3::bigint) as i, acc, con`;
