CREATE INDEX `users_tenant_id` ON `users` (`tenant_id`,`id`);--> statement-breakpoint
CREATE INDEX `users_tenant_type` ON `users` (`tenant_id`,`user_type`);