// Shared plumbing of the benches (bench/rest.mjs, bench/groups.mjs, bench/purge.mjs): child processes in their own process groups
// (always stopped), free ports, waiting for a server, running the CLI, autocannon summaries.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const stateDir = path.join(root, "bench", ".state");
export const resultsDir = path.join(root, "bench", "results");
export const wrangler = path.join(root, "node_modules", ".bin", "wrangler");
export const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
// The CLI is TypeScript for Node 22's type stripping: prefer the devDependency `node@22`.
const localNode = path.join(root, "node_modules", ".bin", "node");
export const node = existsSync(localNode) ? localNode : process.execPath;

export const log = (line) => process.stderr.write(`bench: ${line}\n`);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : String(n));

// ---- child processes ----------------------------------------------------------------------------------------

const children = new Set();

/** Spawns in its own process group so that stopping it also stops wrangler's workerd/esbuild children. */
export function start(name, command, args, logFile) {
  const out = createWriteStream(logFile);
  const child = spawn(command, args, { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  child.name = name;
  child.logFile = logFile;
  child.group = true;
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

function stopAll() {
  for (const child of children) {
    try {
      process.kill(child.group ? -child.pid : child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

/** Stops every child this process started (process groups for servers) and waits for them, SIGKILL after 5 s. */
export async function stopAllAndWait() {
  const pending = [...children].map((c) => (c.exitCode !== null || c.signalCode !== null ? null : once(c, "exit")));
  stopAll();
  const timer = setTimeout(() => {
    for (const child of children) {
      try {
        process.kill(child.group ? -child.pid : child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }, 5000);
  await Promise.all(pending.filter(Boolean).map((p) => p.catch(() => {})));
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
export async function run(command, args, { timeoutMs = 10 * 60_000 } = {}) {
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
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [code, signal] = await once(child, "exit");
  clearTimeout(timer);
  children.delete(child);
  if (code !== 0)
    throw new Error(
      `${path.basename(command)} ${args.slice(0, 3).join(" ")} failed (${signal ? `signal ${signal}, limit ${timeoutMs / 1000}s` : `exit ${code}`}):\n${stderr}${stdout}`,
    );
  return { stdout, stderr };
}

export async function freePort() {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

export async function waitUntilServing(child, url, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${child.name} exited early (code ${child.exitCode}); see ${child.logFile}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return;
    } catch {
      await sleep(300);
    }
  }
  throw new Error(`${child.name} did not serve ${url} within ${timeoutMs / 1000}s; see ${child.logFile}`);
}

/** Starts `wrangler dev` for seatflow (or another config) on free 127.0.0.1 ports; resolves once it serves. */
export async function startWranglerDev(name, { config, persist, probe = "/openapi.json", logFile, extraArgs = [] }) {
  const [port, inspector] = [await freePort(), await freePort()];
  const args = [
    "dev",
    ...(config ? ["-c", config] : []),
    "--ip",
    "127.0.0.1",
    "--log-level",
    "warn",
    "--show-interactive-dev-session=false",
    "--port",
    String(port),
    "--inspector-port",
    String(inspector),
    ...(persist ? ["--persist-to", persist] : []),
    ...extraArgs,
  ];
  const child = start(name, wrangler, args, logFile);
  const url = `http://127.0.0.1:${port}`;
  const ready = waitUntilServing(child, `${url}${probe}`);
  ready.catch(() => {}); // the caller awaits it; this only keeps an early failure from being "unhandled" meanwhile
  return { child, url, ready };
}

/** The figures of an autocannon result that the reports keep. */
export function summarize(name, result) {
  return {
    name,
    requests: result.requests.total,
    throughput: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p97_5: result.latency.p97_5,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
  };
}

/** Seeds a bench's state through the CLI (`node scripts/cli.ts <command> … --persist-to`): the seed's closing JSON line. */
export async function seedThroughCli(persist, command, args, { timeoutMs } = {}) {
  const { stdout } = await run(
    node,
    [path.join(root, "scripts", "cli.ts"), command, ...args, "--persist-to", persist],
    {
      timeoutMs,
    },
  );
  return JSON.parse(stdout.trim().split("\n").pop());
}

/** `node bench/<name>.mjs` runs that bench alone, in a fresh bench/.state/<state> (npm run bench runs them all). */
export async function runAloneIfMain(moduleUrl, state, runBench) {
  if (!process.argv[1] || path.resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  const dir = path.join(stateDir, state);
  await rm(dir, { recursive: true, force: true });
  const out = await runBench(dir);
  console.log(`\n${out.lines.join("\n")}`);
  process.exitCode = out.invalid ? 1 : 0;
}
