-- Hand-written (drizzle-kit cannot express WITHOUT ROWID): the three per-member tables of group licensing become
-- clustered on their primary keys. A rowid table stores each row twice, once in the table and once in the key's
-- index; a 100,000-member group job wrote both. Same columns, keys and secondary indexes as before.
CREATE TABLE `group_members_new` (
	`tenant_id` text NOT NULL,
	`group_id` text NOT NULL,
	`user_id` text NOT NULL,
	`added_at` text NOT NULL,
	PRIMARY KEY(`group_id`, `user_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `group_members_new` (`tenant_id`, `group_id`, `user_id`, `added_at`)
	SELECT `tenant_id`, `group_id`, `user_id`, `added_at` FROM `group_members`;
--> statement-breakpoint
DROP TABLE `group_members`;
--> statement-breakpoint
ALTER TABLE `group_members_new` RENAME TO `group_members`;
--> statement-breakpoint
CREATE INDEX `group_members_user` ON `group_members` (`tenant_id`,`user_id`);
--> statement-breakpoint
CREATE TABLE `license_sources_new` (
	`tenant_id` text NOT NULL,
	`user_id` text NOT NULL,
	`sku_id` text NOT NULL,
	`source_id` text NOT NULL,
	`disabled_plans` text DEFAULT '[]' NOT NULL,
	`state` text NOT NULL,
	`error` text DEFAULT 'None' NOT NULL,
	`last_updated_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `user_id`, `sku_id`, `source_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `license_sources_new` (`tenant_id`, `user_id`, `sku_id`, `source_id`, `disabled_plans`, `state`, `error`, `last_updated_at`)
	SELECT `tenant_id`, `user_id`, `sku_id`, `source_id`, `disabled_plans`, `state`, `error`, `last_updated_at` FROM `license_sources`;
--> statement-breakpoint
DROP TABLE `license_sources`;
--> statement-breakpoint
ALTER TABLE `license_sources_new` RENAME TO `license_sources`;
--> statement-breakpoint
CREATE INDEX `license_sources_errors` ON `license_sources` (`tenant_id`,`source_id`) WHERE state = 'Error';
--> statement-breakpoint
CREATE INDEX `license_sources_waiting` ON `license_sources` (`tenant_id`,`sku_id`,`last_updated_at`) WHERE error = 'CountViolation';
--> statement-breakpoint
CREATE TABLE `user_licenses_new` (
	`tenant_id` text NOT NULL,
	`user_id` text NOT NULL,
	`sku_id` text NOT NULL,
	`disabled_plans` text DEFAULT '[]' NOT NULL,
	`assigned_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `user_id`, `sku_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `user_licenses_new` (`tenant_id`, `user_id`, `sku_id`, `disabled_plans`, `assigned_at`)
	SELECT `tenant_id`, `user_id`, `sku_id`, `disabled_plans`, `assigned_at` FROM `user_licenses`;
--> statement-breakpoint
DROP TABLE `user_licenses`;
--> statement-breakpoint
ALTER TABLE `user_licenses_new` RENAME TO `user_licenses`;
--> statement-breakpoint
CREATE INDEX `user_licenses_sku` ON `user_licenses` (`tenant_id`,`sku_id`);
