ALTER TABLE `audit_log` ADD `entries` text;--> statement-breakpoint
ALTER TABLE `audit_log` ADD `entry_property` text;--> statement-breakpoint
ALTER TABLE `audit_log` ADD `entry_values` text;