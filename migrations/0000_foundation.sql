CREATE TABLE `audit_log` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`activity_date_time` text NOT NULL,
	`activity_display_name` text NOT NULL,
	`category` text NOT NULL,
	`operation_type` text NOT NULL,
	`result` text DEFAULT 'success' NOT NULL,
	`result_reason` text DEFAULT '' NOT NULL,
	`correlation_id` text NOT NULL,
	`initiated_by` text NOT NULL,
	`target_resources` text NOT NULL,
	`additional_details` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_tenant_time` ON `audit_log` (`tenant_id`,`activity_date_time`);--> statement-breakpoint
CREATE TABLE `plan_rules` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`kind` text NOT NULL,
	`service_plan_id` text NOT NULL,
	`related_service_plan_ids` text DEFAULT '[]' NOT NULL,
	`usage_location` text,
	`description` text DEFAULT '' NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `plan_rules_tenant` ON `plan_rules` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `service_plans` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`friendly_name` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sku_service_plans` (
	`sku_id` text NOT NULL,
	`service_plan_id` text NOT NULL,
	`position` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`sku_id`, `service_plan_id`)
);
--> statement-breakpoint
CREATE TABLE `skus` (
	`id` text PRIMARY KEY NOT NULL,
	`sku_part_number` text NOT NULL,
	`display_name` text NOT NULL,
	`applies_to` text DEFAULT 'User' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `skus_part_number` ON `skus` (`sku_part_number`);--> statement-breakpoint
CREATE TABLE `group_members` (
	`tenant_id` text NOT NULL,
	`group_id` text NOT NULL,
	`user_id` text NOT NULL,
	`added_at` text NOT NULL,
	PRIMARY KEY(`group_id`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `group_members_user` ON `group_members` (`tenant_id`,`user_id`);--> statement-breakpoint
CREATE TABLE `groups` (
	`id` text PRIMARY KEY NOT NULL,
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
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text
);
--> statement-breakpoint
CREATE INDEX `groups_tenant` ON `groups` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
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
CREATE UNIQUE INDEX `users_tenant_upn` ON `users` (`tenant_id`,`user_principal_name`);--> statement-breakpoint
CREATE INDEX `users_tenant_employee` ON `users` (`tenant_id`,`employee_id`);--> statement-breakpoint
CREATE TABLE `group_licenses` (
	`tenant_id` text NOT NULL,
	`group_id` text NOT NULL,
	`sku_id` text NOT NULL,
	`disabled_plans` text DEFAULT '[]' NOT NULL,
	`assigned_at` text NOT NULL,
	PRIMARY KEY(`group_id`, `sku_id`)
);
--> statement-breakpoint
CREATE INDEX `group_licenses_tenant` ON `group_licenses` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `license_sources` (
	`tenant_id` text NOT NULL,
	`user_id` text NOT NULL,
	`sku_id` text NOT NULL,
	`source_id` text NOT NULL,
	`disabled_plans` text DEFAULT '[]' NOT NULL,
	`state` text NOT NULL,
	`error` text DEFAULT 'None' NOT NULL,
	`last_updated_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `user_id`, `sku_id`, `source_id`)
);
--> statement-breakpoint
CREATE INDEX `license_sources_source` ON `license_sources` (`tenant_id`,`source_id`,`state`);--> statement-breakpoint
CREATE TABLE `user_licenses` (
	`tenant_id` text NOT NULL,
	`user_id` text NOT NULL,
	`sku_id` text NOT NULL,
	`disabled_plans` text DEFAULT '[]' NOT NULL,
	`assigned_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `user_id`, `sku_id`)
);
--> statement-breakpoint
CREATE INDEX `user_licenses_sku` ON `user_licenses` (`tenant_id`,`sku_id`);--> statement-breakpoint
CREATE TABLE `seat_pools` (
	`tenant_id` text NOT NULL,
	`sku_id` text NOT NULL,
	`enabled_units` integer DEFAULT 0 NOT NULL,
	`consumed_units` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `sku_id`)
);
--> statement-breakpoint
CREATE TABLE `subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`sku_id` text NOT NULL,
	`commerce_subscription_id` text NOT NULL,
	`total_licenses` integer NOT NULL,
	`status` text NOT NULL,
	`is_trial` integer DEFAULT false NOT NULL,
	`owner_type` text DEFAULT 'Company' NOT NULL,
	`owner_id` text,
	`created_at` text NOT NULL,
	`next_lifecycle_at` text
);
--> statement-breakpoint
CREATE INDEX `subscriptions_tenant_sku` ON `subscriptions` (`tenant_id`,`sku_id`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`key_hash` text NOT NULL,
	`role` text NOT NULL,
	`name` text NOT NULL,
	`created_at` text NOT NULL,
	`revoked_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_tenant` ON `api_keys` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`display_name` text NOT NULL,
	`country` text NOT NULL,
	`allow_guests_in_licensed_groups` integer DEFAULT false NOT NULL,
	`created_at` text NOT NULL
);
