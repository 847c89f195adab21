CREATE TABLE "backup_download_links" (
	"signature_hash" text PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"backup_id" uuid NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"first_used_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "backup_download_links" ADD CONSTRAINT "backup_download_links_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "backup_download_links" ADD CONSTRAINT "backup_download_links_backup_id_backups_id_fk" FOREIGN KEY ("backup_id") REFERENCES "public"."backups"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "backup_download_links_expires_idx" ON "backup_download_links" USING btree ("expires_at");