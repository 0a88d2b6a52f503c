// Bindings vitest.config.ts adds for the tests only, on top of the Worker's own (worker-configuration.d.ts).
declare namespace Cloudflare {
  interface Env {
    /** The migrations folder, read by readD1Migrations in vitest.config.ts and applied in test/helpers/setup.ts. */
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** An empty database a test migrates step by step (test/api/migrations.test.ts). */
    MIGRATION_DB: D1Database;
    /** A fresh installation's database, migrated and bootstrapped by test/api/bootstrap.test.ts. */
    BOOTSTRAP_DB: D1Database;
    /** A multiplier of the fuzz suite's runs (vitest.config.ts, from the environment; "1" by default). */
    FUZZ_RUNS: string;
    /** The fast-check seed to replay, or "" for a fresh one. */
    FUZZ_SEED: string;
  }
}
