-- A record's vault entry (the encrypted originals of its masked fields) goes with the record, whatever deletes it:
-- the retention sweep, an admin, an operator's SQL. Before this, each sweep looked for orphaned entries with an
-- anti-join over the whole vault, a cost that grew with the vault (seconds per sweep at 10M masked records).
-- Statement-level with a transition table: one DELETE per statement, not one per row. The ids go in as an array
-- (= ANY) so that the vault is probed by its primary key, whatever the planner guesses of the transition table's size.
CREATE FUNCTION retention_vault_forget_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  org uuid;
BEGIN
  FOR org IN SELECT DISTINCT organization_id FROM gone LOOP
    DELETE FROM retention_vault v
    WHERE v.organization_id = org AND v.module = TG_ARGV[0]
      AND v.record_id = ANY (ARRAY(SELECT id FROM gone WHERE organization_id = org));
  END LOOP;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER contacts_forget_vault AFTER DELETE ON contacts
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION retention_vault_forget_deleted('CONTACTS');
--> statement-breakpoint
CREATE TRIGGER leads_forget_vault AFTER DELETE ON leads
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION retention_vault_forget_deleted('LEADS');
--> statement-breakpoint
-- Entries orphaned before this migration (the sweep's clean-up ran at most a few minutes ago).
DELETE FROM retention_vault v WHERE v.module = 'CONTACTS'
  AND NOT EXISTS (SELECT 1 FROM contacts r WHERE r.organization_id = v.organization_id AND r.id = v.record_id);
--> statement-breakpoint
DELETE FROM retention_vault v WHERE v.module = 'LEADS'
  AND NOT EXISTS (SELECT 1 FROM leads r WHERE r.organization_id = v.organization_id AND r.id = v.record_id);
