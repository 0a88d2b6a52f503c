// Tests that call verbs without the app still write licensing's consequences (mailboxes, OneDrives).
import "../../functions/retention/licensing-hook.ts";
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { ensureCatalog } from "./catalog.ts";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await ensureCatalog();
