import { applyD1Migrations, env } from "cloudflare:test";
import { ensureCatalog } from "./catalog.ts";

const migrations = (env as unknown as { TEST_MIGRATIONS: Parameters<typeof applyD1Migrations>[1] }).TEST_MIGRATIONS;
await applyD1Migrations(env.DB, migrations);
await ensureCatalog();
