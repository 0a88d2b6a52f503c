// npm run bench — REST throughput/latency of seatflow against a bare Hono worker, both on wrangler dev (workerd).
//
// 1. wipes bench/.state, applies the D1 migrations there and seeds a bench tenant (catalogue, an E3 pool, N users)
//    through the CLI (getPlatformProxy on the same persist dir), before any server starts;
// 2. starts `wrangler dev` for seatflow (--persist-to bench/.state) and for bench/bare on free 127.0.0.1 ports;
// 3. with autocannon at concurrency 10 (warm-up, then a timed run each): the bare handler; assignLicense as
//    assign/remove pairs, each connection on its own users; a user read with $select=assignedLicenses;
// 4. prints req/s, p50/p99, non-2xx and the ratios against the bare handler (targets: ≥ 0.5x throughput,
//    ≤ 2x p99), writes bench/results/latest.json, and stops every process it started.
//
// Options (env): BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 3), BENCH_CONNECTIONS (default 10),
// BENCH_USERS (default 200). Exit code 1 when a run saw non-2xx responses or errors (its figures are not valid).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stateDir = path.join(root, "bench", ".state");
const resultsDir = path.join(root, "bench", "results");
const wrangler = path.join(root, "node_modules", ".bin", "wrangler");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
// The CLI is TypeScript for Node 22's type stripping: prefer the devDependency `node@22`.
const localNode = path.join(root, "node_modules", ".bin", "node");
const node = existsSync(localNode) ? localNode : process.execPath;

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const USERS = Number(process.env.BENCH_USERS ?? 200);
const TARGET = { throughput: 0.5, p99: 2 };

const log = (line) => process.stderr.write(`bench: ${line}\n`);

// ---- child processes ----------------------------------------------------------------------------------------

const children = new Set();

/** Spawns in its own process group so that stopping it also stops wrangler's workerd/esbuild children. */
function start(name, command, args, logFile) {
  const out = createWriteStream(logFile);
  const child = spawn(command, args, { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  child.name = name;
  child.logFile = logFile;
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

function stopAll() {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

async function stopAllAndWait() {
  const pending = [...children].map((c) => once(c, "exit").catch(() => {}));
  stopAll();
  const timer = setTimeout(() => {
    for (const child of children) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }, 5000);
  await Promise.all(pending);
  clearTimeout(timer);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    log(`${signal}: stopping`);
    stopAll();
    process.exit(130);
  });
}
process.on("exit", stopAll);

/** Runs a command to completion, capturing its output; fails with the output when it fails. */
async function run(command, args) {
  const child = spawn(command, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c) => {
    stdout += c;
  });
  child.stderr.setEncoding("utf8").on("data", (c) => {
    stderr += c;
  });
  const [code] = await once(child, "exit");
  children.delete(child);
  if (code !== 0)
    throw new Error(
      `${path.basename(command)} ${args.slice(0, 3).join(" ")} failed (exit ${code}):\n${stderr}${stdout}`,
    );
  return stdout;
}

async function freePort() {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

async function waitUntilServing(child, url, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${child.name} exited early (code ${child.exitCode}); see ${child.logFile}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error(`${child.name} did not serve ${url} within ${timeoutMs / 1000}s; see ${child.logFile}`);
}

// ---- load ---------------------------------------------------------------------------------------------------

function cannon(opts) {
  return autocannon({ connections: CONNECTIONS, pipelining: 1, timeout: 10, ...opts });
}

function summarize(name, result) {
  return {
    name,
    requests: result.requests.total,
    throughput: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
  };
}

/** A warm-up run (discarded), then the timed run. `make` builds fresh options each time. */
async function measure(name, make) {
  log(`${name}: warm-up ${WARMUP}s`);
  const warm = await cannon({ ...make(), duration: WARMUP });
  if (warm.non2xx > 0 || warm.errors > 0) log(`${name}: warm-up saw ${warm.non2xx} non-2xx, ${warm.errors} errors`);
  log(`${name}: measuring ${DURATION}s at concurrency ${CONNECTIONS}`);
  return summarize(name, await cannon({ ...make(), duration: DURATION }));
}

// ---- main ---------------------------------------------------------------------------------------------------

async function main() {
  const started = new Date();
  await rm(stateDir, { recursive: true, force: true });
  await mkdir(stateDir, { recursive: true });
  await mkdir(resultsDir, { recursive: true });
  const persist = path.relative(root, stateDir);

  log("applying migrations to bench/.state");
  await run(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist]);
  log(`seeding the bench tenant (${USERS} users)`);
  const seedOut = await run(node, [
    path.join(root, "scripts", "cli.ts"),
    "bench-seed",
    "--users",
    String(USERS),
    "--persist-to",
    persist,
  ]);
  const seed = JSON.parse(seedOut.trim().split("\n").pop());

  const [appPort, appInspector, barePort, bareInspector] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const common = ["--ip", "127.0.0.1", "--log-level", "warn", "--show-interactive-dev-session=false"];
  const app = start(
    "seatflow",
    wrangler,
    ["dev", ...common, "--port", String(appPort), "--inspector-port", String(appInspector), "--persist-to", persist],
    path.join(stateDir, "seatflow-dev.log"),
  );
  const bare = start(
    "bare",
    wrangler,
    [
      "dev",
      "-c",
      "bench/bare/wrangler.toml",
      ...common,
      "--port",
      String(barePort),
      "--inspector-port",
      String(bareInspector),
    ],
    path.join(stateDir, "bare-dev.log"),
  );
  const appUrl = `http://127.0.0.1:${appPort}`;
  const bareUrl = `http://127.0.0.1:${barePort}`;
  log(`starting wrangler dev: seatflow on ${appUrl}, bare on ${bareUrl}`);
  await Promise.all([waitUntilServing(app, `${appUrl}/openapi.json`), waitUntilServing(bare, `${bareUrl}/`)]);

  const headers = { authorization: `Bearer ${seed.key}`, "content-type": "application/json" };
  const assignBody = JSON.stringify({ addLicenses: [{ skuId: seed.skuId, disabledPlans: [] }], removeLicenses: [] });
  const removeBody = JSON.stringify({ addLicenses: [], removeLicenses: [seed.skuId] });

  // Sanity check: one assign, read, remove through the real API must succeed before anything is measured.
  const probeUser = seed.userIds[seed.userIds.length - 1];
  for (const [method, p, body] of [
    ["POST", `/v1.0/users/${probeUser}/assignLicense`, assignBody],
    ["GET", `/v1.0/users/${probeUser}?$select=assignedLicenses`, undefined],
    ["POST", `/v1.0/users/${probeUser}/assignLicense`, removeBody],
  ]) {
    const res = await fetch(`${appUrl}${p}`, { method, headers, body });
    const text = await res.text();
    if (!res.ok) throw new Error(`sanity check ${method} ${p} → ${res.status}: ${text}`);
  }

  // Each connection of each run gets users of its own (round-robin over the seeded users, never shared within a
  // run), so assign/remove pairs never contend for one user.
  let nextUser = 0;
  const takeUser = () => seed.userIds[nextUser++ % (seed.userIds.length - 1)];
  const pairRequests = (userId) => [
    { method: "POST", path: `/v1.0/users/${userId}/assignLicense`, headers, body: assignBody },
    { method: "POST", path: `/v1.0/users/${userId}/assignLicense`, headers, body: removeBody },
  ];
  const readRequests = () =>
    Array.from({ length: 20 }, () => ({
      method: "GET",
      path: `/v1.0/users/${takeUser()}?$select=assignedLicenses`,
      headers,
    }));

  const results = [];
  results.push(await measure("bare handler (GET /)", () => ({ url: bareUrl })));
  results.push(
    await measure("assignLicense assign/remove pairs", () => ({
      url: appUrl,
      requests: pairRequests(seed.userIds[0]),
      setupClient: (client) => client.setRequests(pairRequests(takeUser())),
    })),
  );
  results.push(
    await measure("GET user ?$select=assignedLicenses", () => ({
      url: appUrl,
      requests: readRequests(),
      setupClient: (client) => client.setRequests(readRequests()),
    })),
  );

  await stopAllAndWait();

  const [base, ...rest] = results;
  const rows = [base, ...rest].map((r) => {
    if (r === base) return { ...r, throughputRatio: 1, p99Ratio: 1, verdict: "baseline" };
    const throughputRatio = r.throughput / base.throughput;
    const p99Ratio = r.p99 / Math.max(base.p99, 1);
    const valid = r.non2xx === 0 && r.errors === 0 && r.timeouts === 0;
    const pass = throughputRatio >= TARGET.throughput && p99Ratio <= TARGET.p99;
    return { ...r, throughputRatio, p99Ratio, verdict: !valid ? "INVALID" : pass ? "PASS" : "MISS" };
  });

  const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : String(n));
  console.log(
    `\nseatflow REST bench — wrangler dev on 127.0.0.1, concurrency ${CONNECTIONS}, ${DURATION}s each after ${WARMUP}s warm-up, ${os.cpus().length} CPUs`,
  );
  console.log(`targets vs bare: throughput ≥ ${TARGET.throughput}x, p99 ≤ ${TARGET.p99}x\n`);
  console.log(
    `${"run".padEnd(36)} ${"req/s".padStart(8)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"non-2xx".padStart(8)} ${"errors".padStart(7)} ${"thr x".padStart(6)} ${"p99 x".padStart(6)}  verdict`,
  );
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(36)} ${fmt(r.throughput).padStart(8)} ${fmt(r.p50, 0).padStart(7)} ${fmt(r.p99, 0).padStart(7)} ${String(r.non2xx).padStart(8)} ${String(r.errors + r.timeouts).padStart(7)} ${fmt(r.throughputRatio, 2).padStart(6)} ${fmt(r.p99Ratio, 2).padStart(6)}  ${r.verdict}`,
    );
  }
  for (const r of rows.filter((row) => row.non2xx > 0)) {
    console.log(`  ${r.name}: status codes ${JSON.stringify(r.statusCodes)}`);
  }

  const report = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
    settings: { connections: CONNECTIONS, durationSeconds: DURATION, warmupSeconds: WARMUP, users: USERS },
    targets: TARGET,
    runs: rows,
  };
  await writeFile(path.join(resultsDir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(root, path.join(resultsDir, "latest.json"))}`);
  return rows.some((r) => r.verdict === "INVALID") ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  log(`failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await stopAllAndWait();
}
