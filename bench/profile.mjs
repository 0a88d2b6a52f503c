// npm run bench:profile — where a request's time goes: a V8 CPU profile of the seatflow Worker under a load.
//
// Seeds the bench tenant as the REST bench does, starts `wrangler dev`, attaches to the Worker's isolate through
// wrangler's inspector proxy (the DevTools protocol), runs the load with autocannon at concurrency 10 and prints the
// functions by self time and by inclusive time (the bundle's own functions and the runtime's D1 client), plus the
// share of time the isolate was idle: near 0% means the isolate's one thread is what limits throughput. Through the
// bundle's source map it also sums self time per source: each seatflow file, each npm package, the runtime's parts.
// The raw profile is written to bench/results/profile-<load>.cpuprofile (open it in Chrome DevTools, Performance tab).
//
// Options (env): PROFILE_LOAD=assign (E3 assign/remove pairs, the default) | assignEms (EMS pairs, no mailbox) |
// read (GET a user with $select=assignedLicenses); PROFILE_SECONDS (default 8); PROFILE_TOP (rows, default 30).
// The profiler slows the isolate: compare shares between functions, not throughput with the REST bench.
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import autocannon from "autocannon";
import { SourceMapConsumer } from "source-map-js";
import WebSocket from "ws";
import {
  log,
  resultsDir,
  root,
  run,
  seedThroughCli,
  startWranglerDev,
  stateDir,
  stopAllAndWait,
  wrangler,
} from "./lib.mjs";

const LOAD = process.env.PROFILE_LOAD ?? "assign";
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 8);
const TOP = Number(process.env.PROFILE_TOP ?? 30);

/** A DevTools protocol session: wrangler's proxy answers each command with its id (and the method echoed). */
async function inspect(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const pending = new Map();
  let nextId = 0;
  ws.on("message", (data) => {
    const message = JSON.parse(String(data));
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  await new Promise((resolve, reject) => {
    ws.on("open", resolve);
    ws.on("error", reject);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => reject(new Error(`the inspector did not answer ${method}`)), 30_000);
      pending.set(id, (message) => {
        clearTimeout(timer);
        resolve(message.result);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => ws.close() };
}

const frameName = ({ functionName, url, lineNumber }) =>
  `${functionName || "(anonymous)"} ${url.split("/").pop() || "(native)"}${lineNumber >= 0 ? `:${lineNumber + 1}` : ""}`;

/** Self and inclusive time per function (a recursive function counted once per sample), in shares of the profile. */
function summarizeProfile(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const time = new Map();
  for (const [i, id] of profile.samples.entries()) time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = [...time.values()].reduce((a, b) => a + b, 0);
  const self = new Map();
  const inclusive = new Map();
  const parts = new Map();
  for (const [id, t] of time) {
    const frame = nodes.get(id).callFrame;
    const name = frameName(frame);
    self.set(name, (self.get(name) ?? 0) + t);
    const seen = new Set();
    let d1 = false;
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const caller = nodes.get(at).callFrame;
      d1 ||= caller.url.includes("d1-api");
      const n = frameName(caller);
      if (seen.has(n)) continue;
      seen.add(n);
      inclusive.set(n, (inclusive.get(n) ?? 0) + t);
    }
    const part = name.startsWith("(idle)")
      ? "idle"
      : d1
        ? "D1 client (the binding: statements out, results in)"
        : frame.url.endsWith("index.js")
          ? "the Worker's bundle (seatflow, Hono, zod)"
          : "the runtime (GC, compiling, natives outside D1)";
    parts.set(part, (parts.get(part) ?? 0) + t);
  }
  const ranked = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([name, t]) => ({ name, share: t / total }));
  return { totalMs: total / 1000, parts: ranked(parts), self: ranked(self), inclusive: ranked(inclusive) };
}

/**
 * The source map of the bundle `wrangler dev` is serving (it lives in .wrangler/tmp/dev-* while dev runs, and goes
 * with it): read before dev stops. Undefined if none is found; the by-source table is then left out.
 */
async function devBundleMap() {
  const tmp = path.join(root, ".wrangler", "tmp");
  const dirs = (await readdir(tmp).catch(() => [])).filter((d) => d.startsWith("dev-"));
  const maps = [];
  for (const dir of dirs) {
    const file = path.join(tmp, dir, "index.js.map");
    const info = await stat(file).catch(() => undefined);
    if (info) maps.push({ file, at: info.mtimeMs });
  }
  const newest = maps.sort((a, b) => b.at - a.at)[0];
  return newest && new SourceMapConsumer(JSON.parse(await readFile(newest.file, "utf8")));
}

/** Where a frame's code comes from: a seatflow file, an npm package, wrangler's dev wrapper, or the runtime. */
function sourceOf(map, { url, lineNumber, columnNumber, functionName }) {
  if (url.endsWith("index.js")) {
    const source = map.originalPositionFor({ line: lineNumber + 1, column: columnNumber }).source ?? "";
    const npm = source.split("node_modules/").pop();
    if (npm !== source)
      return `npm ${npm
        .split("/")
        .slice(0, npm.startsWith("@") ? 2 : 1)
        .join("/")}`;
    const own = /(?:^|\/)((?:functions|db)\/.*)$/.exec(source);
    return own ? own[1] : "wrangler's dev wrapper";
  }
  if (url.includes("d1-api")) return "runtime: D1 client";
  return url ? `runtime: ${url}` : `runtime: ${functionName || "(native)"}`;
}

/** Self time per source (sourceOf), in shares of the profile. */
function selfBySource(profile, map) {
  const time = new Map();
  for (const [i, id] of profile.samples.entries()) time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = [...time.values()].reduce((a, b) => a + b, 0);
  const bySource = new Map();
  for (const node of profile.nodes) {
    const t = time.get(node.id);
    if (!t) continue;
    const source = sourceOf(map, node.callFrame);
    bySource.set(source, (bySource.get(source) ?? 0) + t);
  }
  return [...bySource].sort((a, b) => b[1] - a[1]).map(([name, t]) => ({ name, share: t / total }));
}

const pct = (share) => `${(share * 100).toFixed(1).padStart(5)}%`;

async function main() {
  const state = path.join(stateDir, "profile");
  await rm(state, { recursive: true, force: true });
  await mkdir(state, { recursive: true });
  const persist = path.relative(root, state);
  await run(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist]);
  const seed = await seedThroughCli(persist, "bench-seed", ["--users", "200"]);
  const app = await startWranglerDev("seatflow", { persist, logFile: path.join(state, "seatflow-dev.log") });
  await app.ready;
  const inspectorPort = Number(app.child.spawnargs[app.child.spawnargs.indexOf("--inspector-port") + 1]);

  const headers = { authorization: `Bearer ${seed.key}`, "content-type": "application/json" };
  const sku = LOAD === "assignEms" ? seed.noMailboxSkuId : seed.skuId;
  const change = (add, remove) =>
    JSON.stringify({
      addLicenses: add ? [{ skuId: add, disabledPlans: [] }] : [],
      removeLicenses: remove ? [remove] : [],
    });
  let nextUser = 0;
  const takeUser = () => seed.userIds[nextUser++ % seed.userIds.length];
  const requestsFor = (userId) =>
    LOAD === "read"
      ? [{ method: "GET", path: `/v1.0/users/${userId}?$select=assignedLicenses`, headers }]
      : [
          { method: "POST", path: `/v1.0/users/${userId}/assignLicense`, headers, body: change(sku, null) },
          { method: "POST", path: `/v1.0/users/${userId}/assignLicense`, headers, body: change(null, sku) },
        ];
  if (!["assign", "assignEms", "read"].includes(LOAD))
    throw new Error(`PROFILE_LOAD=${LOAD}: assign, assignEms or read`);
  // Each connection on users of its own, as in the REST bench.
  const load = (duration) =>
    autocannon({
      url: app.url,
      connections: 10,
      duration,
      requests: requestsFor(seed.userIds[0]),
      setupClient: (client) => client.setRequests(requestsFor(takeUser())),
    });

  log(`profile: warm-up 3s of ${LOAD}`);
  await load(3);
  const inspector = await inspect(inspectorPort);
  await inspector.send("Profiler.enable");
  await inspector.send("Profiler.setSamplingInterval", { interval: 100 });
  await inspector.send("Profiler.start");
  log(`profile: profiling ${SECONDS}s of ${LOAD}`);
  const result = await load(SECONDS);
  const { profile } = await inspector.send("Profiler.stop");
  inspector.close();
  const map = await devBundleMap();
  await stopAllAndWait();
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);

  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `profile-${LOAD}.cpuprofile`);
  await writeFile(file, JSON.stringify(profile));
  const summary = summarizeProfile(profile);
  const idle = summary.parts.find((r) => r.name === "idle")?.share ?? 0;
  const ours = (r) => /index\.js|d1-api/.test(r.name);
  console.log(
    `\nseatflow Worker CPU profile — ${LOAD}, ${SECONDS}s at concurrency 10, ${result.requests.average} req/s`,
  );
  console.log(
    `isolate idle ${pct(idle)} of ${(summary.totalMs / 1000).toFixed(1)} s; raw profile: ${path.relative(root, file)}`,
  );
  console.log("\nwhere the isolate's time went");
  for (const r of summary.parts) console.log(`${pct(r.share)}  ${r.name}`);
  console.log(`\nself time (top ${TOP})`);
  for (const r of summary.self.slice(0, TOP)) console.log(`${pct(r.share)}  ${r.name}`);
  console.log(`\ninclusive time, the bundle's functions and the D1 client (top ${TOP})`);
  for (const r of summary.inclusive.filter(ours).slice(0, TOP)) console.log(`${pct(r.share)}  ${r.name}`);
  if (!map) {
    console.log("\n(no source map of the dev bundle found: self time by source left out)");
    return;
  }
  const bySource = selfBySource(profile, map);
  const seatflowShare = bySource.filter((r) => /^(functions|db)\//.test(r.name)).reduce((a, r) => a + r.share, 0);
  console.log(`\nself time by source (top ${TOP}; seatflow's own files together: ${pct(seatflowShare).trim()})`);
  for (const r of bySource.slice(0, TOP)) console.log(`${pct(r.share)}  ${r.name}`);
}

main().catch(async (error) => {
  log(`profile failed: ${error.message}`);
  await stopAllAndWait();
  process.exitCode = 1;
});
