CREATE SEQUENCE "public"."retention_version_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "retention_recomputes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"module" text NOT NULL,
	"as_of" bigint NOT NULL,
	"job_id" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp (3) with time zone
);
--> statement-breakpoint
ALTER TABLE "contacts" ADD COLUMN "retention_source" text DEFAULT 'NONE' NOT NULL;--> statement-breakpoint
ALTER TABLE "contacts" ADD COLUMN "retention_version" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "retention_source" text DEFAULT 'NONE' NOT NULL;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "retention_version" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "retention_recomputes" ADD CONSTRAINT "retention_recomputes_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "retention_recomputes_open_idx" ON "retention_recomputes" USING btree ("organization_id") WHERE "retention_recomputes"."finished_at" is null;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_retention_source_ck" CHECK ("contacts"."retention_source" in ('NONE', 'POLICY', 'CUSTOM'));--> statement-breakpoint
ALTER TABLE "leads" ADD CONSTRAINT "leads_retention_source_ck" CHECK ("leads"."retention_source" in ('NONE', 'POLICY', 'CUSTOM'));--> statement-breakpoint
-- hand-written: upgrading from 0.1, every retention date there is came from a policy (API.md §6 "Upgrading from 0.1")
UPDATE "contacts" SET "retention_source" = 'POLICY' WHERE "retention_ends_at" IS NOT NULL;--> statement-breakpoint
UPDATE "leads" SET "retention_source" = 'POLICY' WHERE "retention_ends_at" IS NOT NULL;
