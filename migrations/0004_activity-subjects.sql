CREATE INDEX "activity_org_subject_type_idx" ON "activity_events" USING btree ("organization_id","subject_type","id");--> statement-breakpoint
CREATE INDEX "activity_org_subject_id_idx" ON "activity_events" USING btree ("organization_id","subject_id","id");--> statement-breakpoint
CREATE INDEX "activity_org_kind_idx" ON "activity_events" USING btree ("organization_id","kind","id");--> statement-breakpoint
-- hand-written: 0.1 wrote subject types in several spellings; API.md §6 fixes them. The stream is append-only (a
-- trigger refuses UPDATE), so the trigger is switched off for this one rewrite, inside the migration's transaction.
ALTER TABLE "activity_events" DISABLE TRIGGER "activity_events_append_only";--> statement-breakpoint
UPDATE "activity_events" SET "subject_type" = CASE "subject_type"
    WHEN 'backup' THEN 'BACKUP'
    WHEN 'backup_settings' THEN 'BACKUP_SETTINGS'
    WHEN 'RetentionPolicy' THEN 'RETENTION_POLICY'
    WHEN 'import' THEN 'IMPORT'
    WHEN 'LEADS' THEN 'LEAD'
    WHEN 'CONTACTS' THEN 'CONTACT'
    WHEN 'ACCOUNTS' THEN 'ACCOUNT'
    WHEN 'DEALS' THEN 'DEAL'
  END
  WHERE "subject_type" IN ('backup', 'backup_settings', 'RetentionPolicy', 'import', 'LEADS', 'CONTACTS', 'ACCOUNTS', 'DEALS');--> statement-breakpoint
UPDATE "activity_events" SET "subject_type" = 'RETENTION_SETTINGS', "subject_id" = "organization_id"::text
  WHERE "kind" = 'retention.settings_changed' AND "subject_type" IS NULL;--> statement-breakpoint
UPDATE "activity_events" SET "subject_type" = 'RETENTION_POLICY', "subject_id" = "data"->>'module'
  WHERE "kind" = 'retention.sweep_batch' AND "subject_type" IS NULL AND "data" ? 'module';--> statement-breakpoint
ALTER TABLE "activity_events" ENABLE TRIGGER "activity_events_append_only";
