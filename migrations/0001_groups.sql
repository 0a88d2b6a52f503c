CREATE TABLE `license_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`group_id` text,
	`kind` text NOT NULL,
	`state` text NOT NULL,
	`cursor` text DEFAULT '' NOT NULL,
	`processed` integer DEFAULT 0 NOT NULL,
	`succeeded` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `license_jobs_tenant_state` ON `license_jobs` (`tenant_id`,`state`);--> statement-breakpoint
ALTER TABLE `groups` ADD `license_job_id` text;--> statement-breakpoint
ALTER TABLE `groups` ADD `rule_job_id` text;--> statement-breakpoint
CREATE INDEX `license_sources_waiting` ON `license_sources` (`tenant_id`,`sku_id`,`error`,`last_updated_at`);