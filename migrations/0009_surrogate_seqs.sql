-- Hand-written (drizzle-kit generated the table rebuilds; the copies, their order and WITHOUT ROWID are by hand):
-- users, groups and seat pools get an integer `seq`, and the per-member tables (group_members, license_sources,
-- user_licenses) hold those seqs instead of 36-character ids and a tenant id. A rule job over 100,000 users grew
-- those tables and their indexes by about 760 bytes a user with ids, 150 with seqs. The ids stay the API's, looked
-- up by unique index. Seqs are given in the old tables' insertion (rowid) order.
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_users` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`user_principal_name` text NOT NULL,
	`display_name` text NOT NULL,
	`mail_nickname` text,
	`given_name` text,
	`surname` text,
	`mail` text,
	`usage_location` text,
	`user_type` text DEFAULT 'Member' NOT NULL,
	`account_enabled` integer DEFAULT true NOT NULL,
	`department` text,
	`country` text,
	`job_title` text,
	`company_name` text,
	`employee_id` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text,
	`license_version` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_users` (`id`, `tenant_id`, `user_principal_name`, `display_name`, `mail_nickname`, `given_name`, `surname`, `mail`, `usage_location`, `user_type`, `account_enabled`, `department`, `country`, `job_title`, `company_name`, `employee_id`, `created_at`, `updated_at`, `deleted_at`, `license_version`)
	SELECT `id`, `tenant_id`, `user_principal_name`, `display_name`, `mail_nickname`, `given_name`, `surname`, `mail`, `usage_location`, `user_type`, `account_enabled`, `department`, `country`, `job_title`, `company_name`, `employee_id`, `created_at`, `updated_at`, `deleted_at`, `license_version` FROM `users` ORDER BY rowid;--> statement-breakpoint
CREATE TABLE `__new_groups` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`display_name` text NOT NULL,
	`description` text,
	`mail_nickname` text,
	`mail_enabled` integer DEFAULT false NOT NULL,
	`security_enabled` integer DEFAULT true NOT NULL,
	`group_types` text DEFAULT '[]' NOT NULL,
	`membership_rule` text,
	`membership_rule_processing_state` text,
	`license_processing_state` text,
	`license_job_id` text,
	`rule_job_id` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text
);
--> statement-breakpoint
INSERT INTO `__new_groups` (`id`, `tenant_id`, `display_name`, `description`, `mail_nickname`, `mail_enabled`, `security_enabled`, `group_types`, `membership_rule`, `membership_rule_processing_state`, `license_processing_state`, `license_job_id`, `rule_job_id`, `created_at`, `updated_at`, `deleted_at`)
	SELECT `id`, `tenant_id`, `display_name`, `description`, `mail_nickname`, `mail_enabled`, `security_enabled`, `group_types`, `membership_rule`, `membership_rule_processing_state`, `license_processing_state`, `license_job_id`, `rule_job_id`, `created_at`, `updated_at`, `deleted_at` FROM `groups` ORDER BY rowid;--> statement-breakpoint
CREATE TABLE `__new_seat_pools` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`sku_id` text NOT NULL,
	`enabled_units` integer DEFAULT 0 NOT NULL,
	`consumed_units` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_seat_pools` (`tenant_id`, `sku_id`, `enabled_units`, `consumed_units`)
	SELECT `tenant_id`, `sku_id`, `enabled_units`, `consumed_units` FROM `seat_pools` ORDER BY rowid;--> statement-breakpoint
CREATE TABLE `__new_group_members` (
	`group_seq` integer NOT NULL,
	`user_seq` integer NOT NULL,
	`added_at` text NOT NULL,
	PRIMARY KEY(`group_seq`, `user_seq`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_group_members` (`group_seq`, `user_seq`, `added_at`)
	SELECT g.`seq`, u.`seq`, gm.`added_at` FROM `group_members` gm
	JOIN `__new_groups` g ON g.`id` = gm.`group_id` JOIN `__new_users` u ON u.`id` = gm.`user_id`;--> statement-breakpoint
CREATE TABLE `__new_license_sources` (
	`user_seq` integer NOT NULL,
	`pool_seq` integer NOT NULL,
	`source_seq` integer NOT NULL,
	`disabled_plans` text DEFAULT '[]' NOT NULL,
	`state` text NOT NULL,
	`error` text DEFAULT 'None' NOT NULL,
	`last_updated_at` text NOT NULL,
	PRIMARY KEY(`user_seq`, `pool_seq`, `source_seq`)
) WITHOUT ROWID;
--> statement-breakpoint
-- A direct assignment is source 0; a group's is the group's seq.
INSERT INTO `__new_license_sources` (`user_seq`, `pool_seq`, `source_seq`, `disabled_plans`, `state`, `error`, `last_updated_at`)
	SELECT u.`seq`, p.`seq`, CASE ls.`source_id` WHEN 'direct' THEN 0 ELSE g.`seq` END,
		ls.`disabled_plans`, ls.`state`, ls.`error`, ls.`last_updated_at`
	FROM `license_sources` ls
	JOIN `__new_users` u ON u.`id` = ls.`user_id`
	JOIN `__new_seat_pools` p ON p.`tenant_id` = ls.`tenant_id` AND p.`sku_id` = ls.`sku_id`
	LEFT JOIN `__new_groups` g ON g.`id` = ls.`source_id`
	WHERE ls.`source_id` = 'direct' OR g.`seq` IS NOT NULL;--> statement-breakpoint
CREATE TABLE `__new_user_licenses` (
	`user_seq` integer NOT NULL,
	`pool_seq` integer NOT NULL,
	`disabled_plans` text DEFAULT '[]' NOT NULL,
	`assigned_at` text NOT NULL,
	PRIMARY KEY(`user_seq`, `pool_seq`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_user_licenses` (`user_seq`, `pool_seq`, `disabled_plans`, `assigned_at`)
	SELECT u.`seq`, p.`seq`, ul.`disabled_plans`, ul.`assigned_at` FROM `user_licenses` ul
	JOIN `__new_users` u ON u.`id` = ul.`user_id`
	JOIN `__new_seat_pools` p ON p.`tenant_id` = ul.`tenant_id` AND p.`sku_id` = ul.`sku_id`;--> statement-breakpoint
DROP TABLE `group_members`;--> statement-breakpoint
DROP TABLE `license_sources`;--> statement-breakpoint
DROP TABLE `user_licenses`;--> statement-breakpoint
DROP TABLE `seat_pools`;--> statement-breakpoint
DROP TABLE `groups`;--> statement-breakpoint
DROP TABLE `users`;--> statement-breakpoint
ALTER TABLE `__new_users` RENAME TO `users`;--> statement-breakpoint
ALTER TABLE `__new_groups` RENAME TO `groups`;--> statement-breakpoint
ALTER TABLE `__new_seat_pools` RENAME TO `seat_pools`;--> statement-breakpoint
ALTER TABLE `__new_group_members` RENAME TO `group_members`;--> statement-breakpoint
ALTER TABLE `__new_license_sources` RENAME TO `license_sources`;--> statement-breakpoint
ALTER TABLE `__new_user_licenses` RENAME TO `user_licenses`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `user_licenses_pool` ON `user_licenses` (`pool_seq`,`user_seq`);--> statement-breakpoint
CREATE INDEX `group_members_user` ON `group_members` (`user_seq`,`group_seq`);--> statement-breakpoint
CREATE INDEX `license_sources_errors` ON `license_sources` (`source_seq`) WHERE state = 'Error';--> statement-breakpoint
CREATE INDEX `license_sources_waiting` ON `license_sources` (`pool_seq`,`last_updated_at`) WHERE error = 'CountViolation';--> statement-breakpoint
CREATE UNIQUE INDEX `seat_pools_tenant_sku` ON `seat_pools` (`tenant_id`,`sku_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `groups_id_unique` ON `groups` (`id`);--> statement-breakpoint
CREATE INDEX `groups_tenant` ON `groups` (`tenant_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `users_id_unique` ON `users` (`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `users_tenant_upn` ON `users` (`tenant_id`,`user_principal_name`);--> statement-breakpoint
CREATE INDEX `users_tenant_employee` ON `users` (`tenant_id`,`employee_id`);--> statement-breakpoint
CREATE INDEX `users_tenant_id` ON `users` (`tenant_id`,`id`);--> statement-breakpoint
CREATE INDEX `users_tenant_seq` ON `users` (`tenant_id`,`seq`);--> statement-breakpoint
CREATE INDEX `users_tenant_type` ON `users` (`tenant_id`,`user_type`);--> statement-breakpoint
-- A running job's cursor was a user id; jobs are redelivery-safe, so unfinished ones start over from the first seq.
UPDATE `license_jobs` SET `cursor` = '', `processed` = 0, `succeeded` = 0, `failed` = 0 WHERE `state` IN ('Queued', 'Running');
--> statement-breakpoint
-- The per-member tables as ids, for people querying the database (wrangler d1 execute) and for tests; the Worker
-- reads and writes the tables themselves.
CREATE VIEW `group_members_by_id` AS
	SELECT g.`tenant_id`, g.`id` AS `group_id`, u.`id` AS `user_id`, gm.`added_at`
	FROM `group_members` gm JOIN `groups` g ON g.`seq` = gm.`group_seq` JOIN `users` u ON u.`seq` = gm.`user_seq`;--> statement-breakpoint
CREATE VIEW `license_sources_by_id` AS
	SELECT u.`tenant_id`, u.`id` AS `user_id`, p.`sku_id`,
		CASE ls.`source_seq` WHEN 0 THEN 'direct' ELSE (SELECT `id` FROM `groups` WHERE `seq` = ls.`source_seq`) END AS `source_id`,
		ls.`disabled_plans`, ls.`state`, ls.`error`, ls.`last_updated_at`
	FROM `license_sources` ls JOIN `users` u ON u.`seq` = ls.`user_seq` JOIN `seat_pools` p ON p.`seq` = ls.`pool_seq`;--> statement-breakpoint
CREATE VIEW `user_licenses_by_id` AS
	SELECT u.`tenant_id`, u.`id` AS `user_id`, p.`sku_id`, ul.`disabled_plans`, ul.`assigned_at`
	FROM `user_licenses` ul JOIN `users` u ON u.`seq` = ul.`user_seq` JOIN `seat_pools` p ON p.`seq` = ul.`pool_seq`;
