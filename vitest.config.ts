import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations("./migrations"),
          // The fuzz suite's depth and seed (test/helpers/fuzz.ts): FUZZ_RUNS=10 runs ten times as many cases, FUZZ_SEED
          // replays the seed a failure printed.
          FUZZ_RUNS: process.env.FUZZ_RUNS ?? "1",
          FUZZ_SEED: process.env.FUZZ_SEED ?? "",
        },
        // Empty databases: one a test migrates step by step (test/api/migrations.test.ts), one a fresh installation is
        // bootstrapped in (test/api/bootstrap.test.ts: the shared DB already has operator tenants). DB comes from
        // wrangler.toml.
        d1Databases: { MIGRATION_DB: "migration-test", BOOTSTRAP_DB: "bootstrap-test" },
      },
    })),
  ],
  test: {
    include: ["test/unit/**/*.test.ts", "test/api/**/*.test.ts", "test/fuzz/**/*.test.ts"],
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    setupFiles: ["./test/helpers/setup.ts"],
    // Vitest's default on a 2-CPU machine is one worker; a test file's setup (loading the Worker's modules in workerd)
    // is CPU and its tests mostly wait on D1, so two workers overlap the one with the other.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
