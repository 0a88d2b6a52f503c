export * from "./audit.ts";
export * from "./catalog.ts";
export * from "./directory.ts";
export * from "./jobs.ts";
export * from "./licensing.ts";
export * from "./retention.ts";
export * from "./subscriptions.ts";
export * from "./tenancy.ts";
