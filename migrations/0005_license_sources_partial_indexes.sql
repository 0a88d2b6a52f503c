DROP INDEX `license_sources_source`;--> statement-breakpoint
DROP INDEX `license_sources_waiting`;--> statement-breakpoint
CREATE INDEX `license_sources_errors` ON `license_sources` (`tenant_id`,`source_id`) WHERE state = 'Error';--> statement-breakpoint
CREATE INDEX `license_sources_waiting` ON `license_sources` (`tenant_id`,`sku_id`,`last_updated_at`) WHERE error = 'CountViolation';