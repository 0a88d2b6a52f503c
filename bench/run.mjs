// npm run bench — the benches, one after the other, then one combined summary:
//   rest   (bench/rest.mjs)   REST throughput/latency of seatflow vs a bare Hono worker, both on wrangler dev;
//   groups (bench/groups.mjs) group-based licensing over N = 100,000 members and a dynamic rule over N users, against
//                             a raw SQLite floor, plus interactive read p99 while the job runs;
//   purge  (bench/purge.mjs)  the daily retention purge over 100,000 due mailboxes / 1,000,000 items through the
//                             scheduled handler, against a raw SQLite floor;
//   rules  (bench/rule-isolation.mjs) one tenant's heaviest dynamic rules against another tenant's read and
//                             assignLicense latency (p50/p99 with the first idle and busy, and their ratio).
// Each bench has its own state under bench/.state (wiped at the start) and its own wrangler dev on free 127.0.0.1
// ports, stopped when it ends. Writes bench/results/latest.json with a section per bench.
//
// Options (env): BENCH_ONLY=rest|groups|purge|rules runs one of them; see each bench for its own options.
// Exit code 1 when a bench failed or a run is INVALID (non-2xx responses, errors, failed verification).
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { runGroups } from "./groups.mjs";
import { log, resultsDir, root, stateDir, stopAllAndWait } from "./lib.mjs";
import { runPurge } from "./purge.mjs";
import { runRest } from "./rest.mjs";
import { runRuleIsolation } from "./rule-isolation.mjs";

const benches = { rest: runRest, groups: runGroups, purge: runPurge, rules: runRuleIsolation };
const only = process.env.BENCH_ONLY?.trim();
if (only && !(only in benches)) {
  log(`BENCH_ONLY must be one of ${Object.keys(benches).join(", ")} (got '${only}')`);
  process.exit(2);
}

async function main() {
  const started = new Date();
  await rm(stateDir, { recursive: true, force: true });
  await mkdir(stateDir, { recursive: true });
  await mkdir(resultsDir, { recursive: true });

  const sections = {};
  const printed = [];
  let failed = false;
  for (const [name, bench] of Object.entries(benches)) {
    if (only && only !== name) {
      sections[name] = { skipped: `BENCH_ONLY=${only}` };
      continue;
    }
    const benchStarted = new Date();
    try {
      const out = await bench(path.join(stateDir, name));
      sections[name] = { startedAt: benchStarted.toISOString(), finishedAt: new Date().toISOString(), ...out.report };
      printed.push(out.lines);
      if (out.invalid) failed = true;
    } catch (error) {
      log(`${name} failed: ${error.message}`);
      sections[name] = { startedAt: benchStarted.toISOString(), error: error.message };
      printed.push([`seatflow ${name} bench — FAILED: ${error.message}`]);
      failed = true;
    } finally {
      await stopAllAndWait();
    }
  }

  console.log("");
  console.log(printed.map((lines) => lines.join("\n")).join("\n\n"));
  const report = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
    ...sections,
  };
  const file = path.join(resultsDir, "latest.json");
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(root, file)}`);
  return failed ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  log(`failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await stopAllAndWait();
}
