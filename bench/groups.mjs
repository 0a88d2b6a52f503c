// The group bench: group-based licensing over N members (default 100,000) on wrangler dev, against a raw SQLite floor.
//
// 1. floor: node:sqlite writes N assignment rows from a group's N members in 1,000-row keyset chunks (bench/floor.mjs),
//    the median of five copies;
// 2. seed (CLI `bench-groups-seed`, getPlatformProxy on this bench's persist dir, before wrangler dev starts): a tenant
//    with N users (department "Bench") all members of one static security group, EMS and ENTERPRISEPACK with 2N seats,
//    a dynamic group (rule `user.department -eq "Nobody"`) holding ENTERPRISEPACK; a second, small tenant to read;
// 3. idle p99 of GET /v1.0/users/{id} on the small tenant (autocannon, concurrency 10);
// 4. POST /groups/{static}/assignLicense (EMS), polling licenseProcessingState every 100 ms until ProcessingComplete,
//    alone (the headline figure); then EMS consumedUnits must be N; 6. the same read load while a second job of N
//    members runs (the group drops EMS again), its p99 against idle, and that job's time against the idle job's;
// 5. PATCH the dynamic group's rule to `user.department -eq "Bench"`, timed until membershipRuleProcessingStatus is
//    Succeeded (fallback: the count of ENTERPRISEPACK holders reaches N); then ENTERPRISEPACK consumedUnits must be N.
//
// Targets: each job ≤ 10 s and ≤ 15x the floor; p99 during the job ≤ 1.5x idle; the job under the read load
// ≤ 10x the idle job's time (jobs yield to traffic, but must not starve). Every wait is bounded.
// Options (env): BENCH_GROUP_USERS (default 100000), BENCH_GROUP_READERS (users of the read tenant, default 300),
// BENCH_GROUP_TIMEOUT (s per job, default 600), BENCH_IDLE_DURATION (s, default 60), BENCH_WARMUP (s, default 3),
// BENCH_CONNECTIONS (default 10), BENCH_RULE_POLL=count (time step 5 by the fallback). A failed verification or a non-2xx response marks the run INVALID.
import { mkdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import autocannon from "autocannon";
import { floorEngineNote, measureFloor } from "./floor.mjs";
import {
  fmt,
  log,
  root,
  run,
  runAloneIfMain,
  seedThroughCli,
  sleep,
  startWranglerDev,
  stopAllAndWait,
  summarize,
  wrangler,
} from "./lib.mjs";

const USERS = Number(process.env.BENCH_GROUP_USERS ?? 100_000);
const READERS = Number(process.env.BENCH_GROUP_READERS ?? 300);
const JOB_TIMEOUT_S = Number(process.env.BENCH_GROUP_TIMEOUT ?? 600);
// A p99 needs a sample of the size it is compared with: over 5 s (about 1,500 requests) the idle p99 missed stalls
// that wrangler dev shows every few seconds with no job at all (measured: 5 s → 48-69 ms, 60 s → 98 ms).
const IDLE_DURATION = Number(process.env.BENCH_IDLE_DURATION ?? 60);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const POLL_MS = 100;
const COUNT_POLL_MS = 250;
const TARGET = { seconds: 10, floorRatio: 15, p99Ratio: 1.5, loadRatio: 10 };

const seconds = (ms) => ms / 1000;

/** A JSON request to seatflow; throws with the body on a non-2xx answer. */
async function call(base, key, method, p, body, extraHeaders = {}) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...extraHeaders,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status}: ${text.slice(0, 500)}`);
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The read load: GET /v1.0/users/{id} rotating over the read tenant's users. Runs until stopped or `duration`. */
function readLoad(base, seed, duration) {
  let next = 0;
  const requests = () =>
    Array.from({ length: 50 }, () => ({
      method: "GET",
      path: `/v1.0/users/${seed.readUserIds[next++ % seed.readUserIds.length]}`,
      headers: { authorization: `Bearer ${seed.readKey}` },
    }));
  return autocannon({
    url: base,
    connections: CONNECTIONS,
    pipelining: 1,
    timeout: 10,
    duration,
    requests: requests(),
    setupClient: (client) => client.setRequests(requests()),
  });
}

/**
 * Polls `probe` every `intervalMs` until it returns a truthy value or the deadline passes; `probe` errors are counted
 * (and the last one kept), not fatal. Returns the elapsed ms since `t0` at the poll that saw completion.
 */
async function pollUntil(t0, intervalMs, probe) {
  const deadline = t0 + JOB_TIMEOUT_S * 1000;
  let errors = 0;
  let lastError;
  while (performance.now() < deadline) {
    const before = performance.now();
    try {
      if (await probe(performance.now() - t0)) return { ms: performance.now() - t0, errors, lastError };
    } catch (error) {
      errors++;
      lastError = error.message;
    }
    await sleep(Math.max(0, intervalMs - (performance.now() - before)));
  }
  throw new Error(
    `not done within ${JOB_TIMEOUT_S}s (BENCH_GROUP_TIMEOUT)${lastError ? `; last poll error: ${lastError}` : ""}`,
  );
}

async function consumed(base, key, skuId) {
  const { body } = await call(base, key, "GET", "/v1.0/subscribedSkus");
  const sku = body.value.find((s) => s.skuId === skuId);
  return sku ? Number(sku.consumedUnits) : null;
}

async function holders(base, key, skuId) {
  const filter = encodeURIComponent(`assignedLicenses/any(x:x/skuId eq ${skuId})`);
  const { body } = await call(
    base,
    key,
    "GET",
    `/v1.0/users?$filter=${filter}&$count=true&$top=1&$select=id`,
    undefined,
    { ConsistencyLevel: "eventual" },
  );
  return Number(body["@odata.count"]);
}

/** Runs the group bench with its state under `stateRoot` (created; the caller wipes it). */
export async function runGroups(stateRoot) {
  await mkdir(stateRoot, { recursive: true });
  const persist = path.relative(root, stateRoot);
  const problems = [];
  const result = {
    settings: { users: USERS, readers: READERS, connections: CONNECTIONS, pollMs: POLL_MS },
    targets: TARGET,
  };
  try {
    // ---- 1. floor (before any server runs, on a quiet machine) ----
    log(`groups: raw SQLite floor over ${USERS} members`);
    const floor = await measureFloor(path.join(stateRoot, "floor.sqlite"), USERS);
    result.floor = floor;
    log(`groups: floor ${fmt(floor.seconds, 3)} s (median of ${floor.runs.map((r) => fmt(r, 3)).join(", ")})`);

    // ---- 2. seed ----
    log("groups: applying migrations");
    await run(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist]);
    log(`groups: seeding ${USERS} users in one static group + ${READERS} users of a read tenant`);
    const seedStart = performance.now();
    const seed = await seedThroughCli(
      persist,
      "bench-groups-seed",
      ["--users", String(USERS), "--readers", String(READERS)],
      {
        timeoutMs: 5 * 60_000,
      },
    );
    result.seedSeconds = seconds(performance.now() - seedStart);
    log(`groups: seeded in ${fmt(result.seedSeconds)} s`);

    const logFile = path.join(stateRoot, "seatflow-dev.log");
    const app = await startWranglerDev("seatflow", { persist, logFile });
    log(`groups: wrangler dev on ${app.url}`);
    await app.ready;
    const base = app.url;
    const admin = (method, p, body, headers) => call(base, seed.key, method, p, body, headers);

    // Sanity: the seeded state is what the bench assumes.
    const dyn = (
      await admin(
        "GET",
        `/v1.0/groups/${seed.dynamicGroupId}?$select=licenseProcessingState,membershipRuleProcessingStatus`,
      )
    ).body;
    if (dyn.licenseProcessingState?.state !== "ProcessingComplete")
      throw new Error(`seeded dynamic group not settled: ${JSON.stringify(dyn)}`);
    // BENCH_RULE_POLL=count forces the fallback (the count of E3 holders) even where the status exists.
    const statusSupported =
      process.env.BENCH_RULE_POLL !== "count" && typeof dyn.membershipRuleProcessingStatus?.status === "string";
    await call(base, seed.readKey, "GET", `/v1.0/users/${seed.readUserIds[0]}`);
    if ((await consumed(base, seed.key, seed.emsSkuId)) !== 0)
      throw new Error("EMS seats already consumed before the job");

    // ---- 3. idle p99 ----
    log(`groups: read load warm-up ${WARMUP}s, then idle p99 over ${IDLE_DURATION}s`);
    await readLoad(base, seed, WARMUP);
    const idle = summarize("GET /users/{id} idle", await readLoad(base, seed, IDLE_DURATION));
    result.idle = idle;

    // ---- 4. group assignLicense (EMS), alone: the headline figure ----
    // Jobs pace themselves by the last second of API traffic (functions/jobs/pacing.ts): let the read load fade first.
    await sleep(2000);
    log(`groups: POST assignLicense EMS to the ${USERS}-member group`);
    const groupJob = async (body, label) => {
      const states = [];
      const t0 = performance.now();
      const posted = await admin("POST", `/v1.0/groups/${seed.groupId}/assignLicense`, body);
      const postMs = performance.now() - t0;
      if (posted.status !== 202) problems.push(`${label}: assignLicense answered ${posted.status}, expected 202`);
      const done = await pollUntil(t0, POLL_MS, async (at) => {
        const { body: g } = await admin("GET", `/v1.0/groups/${seed.groupId}?$select=licenseProcessingState`);
        const state = g.licenseProcessingState?.state ?? null;
        if (states.at(-1)?.state !== state) states.push({ state, atSeconds: seconds(at) });
        return state === "ProcessingComplete";
      });
      return { done, states, postMs };
    };
    const {
      done: group,
      states,
      postMs,
    } = await groupJob({ addLicenses: [{ skuId: seed.emsSkuId, disabledPlans: [] }], removeLicenses: [] }, "assign");
    const groupSeconds = seconds(group.ms);
    const emsConsumed = await consumed(base, seed.key, seed.emsSkuId);
    result.group = {
      seconds: groupSeconds,
      floorRatio: groupSeconds / floor.seconds,
      postSeconds: seconds(postMs),
      states,
      pollErrors: group.errors,
      consumedUnits: emsConsumed,
      valid: emsConsumed === USERS,
    };
    if (emsConsumed !== USERS) problems.push(`EMS consumedUnits ${emsConsumed} after the group job, expected ${USERS}`);
    log(`groups: group job ${fmt(groupSeconds, 2)} s; EMS consumedUnits ${emsConsumed}`);

    // ---- 5. dynamic rule re-evaluation (ENTERPRISEPACK) ----
    log(
      `groups: PATCH the dynamic rule to match all ${USERS} users (${statusSupported ? "polling membershipRuleProcessingStatus" : "fallback: polling the count of ENTERPRISEPACK holders"})`,
    );
    const ruleStates = [];
    let sawPending = false;
    const t1 = performance.now();
    await admin("PATCH", `/v1.0/groups/${seed.dynamicGroupId}`, { membershipRule: 'user.department -eq "Bench"' });
    const patchMs = performance.now() - t1;
    const rule = await pollUntil(t1, statusSupported ? POLL_MS : COUNT_POLL_MS, async (at) => {
      if (!statusSupported) return (await holders(base, seed.key, seed.e3SkuId)) >= USERS;
      const { body } = await admin("GET", `/v1.0/groups/${seed.dynamicGroupId}?$select=membershipRuleProcessingStatus`);
      const status = body.membershipRuleProcessingStatus?.status ?? null;
      if (ruleStates.at(-1)?.status !== status) ruleStates.push({ status, atSeconds: seconds(at) });
      if (status !== "Succeeded") {
        sawPending = true;
        return false;
      }
      // A "Succeeded" never preceded by anything else could be the previous evaluation's: confirm by the count.
      return sawPending || (await holders(base, seed.key, seed.e3SkuId)) >= USERS;
    });
    const ruleSeconds = seconds(rule.ms);
    const e3Consumed = await consumed(base, seed.key, seed.e3SkuId);
    result.dynamic = {
      seconds: ruleSeconds,
      floorRatio: ruleSeconds / floor.seconds,
      patchSeconds: seconds(patchMs),
      method: statusSupported ? "membershipRuleProcessingStatus" : "count of ENTERPRISEPACK holders (fallback)",
      states: ruleStates,
      pollErrors: rule.errors,
      consumedUnits: e3Consumed,
      valid: e3Consumed === USERS,
    };
    if (e3Consumed !== USERS)
      problems.push(`ENTERPRISEPACK consumedUnits ${e3Consumed} after re-evaluation, expected ${USERS}`);
    log(`groups: rule re-evaluation ${fmt(ruleSeconds, 2)} s; ENTERPRISEPACK consumedUnits ${e3Consumed}`);

    // ---- 6. interactive reads while a job of the same size runs: the group drops EMS from every member ----
    log("groups: read load during a second job of N members (the group's EMS removed)");
    const load = readLoad(base, seed, JOB_TIMEOUT_S + 60);
    let loadResult;
    const loadDone = Promise.resolve(load).then((r) => {
      loadResult = r;
    });
    let removal;
    try {
      removal = await groupJob({ addLicenses: [], removeLicenses: [seed.emsSkuId] }, "remove");
    } finally {
      load.stop();
      await loadDone;
    }
    const during = summarize("GET /users/{id} during the job", loadResult);
    result.during = during;
    const removalSeconds = seconds(removal.done.ms);
    result.removal = {
      seconds: removalSeconds,
      // Against the idle assign job of the same N members: how much the read load slows a job down.
      idleRatio: removalSeconds / groupSeconds,
      states: removal.states,
    };
    const emsAfter = await consumed(base, seed.key, seed.emsSkuId);
    if (emsAfter !== 0) problems.push(`EMS consumedUnits ${emsAfter} after removing it from the group, expected 0`);

    for (const r of [idle, during]) {
      if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0)
        problems.push(`${r.name}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
    }
    await stopAllAndWait();
    const devLog = await readFile(logFile, "utf8").catch(() => "");
    result.consumerFailures = (devLog.match(/license job failed/g) ?? []).length;
    if (result.consumerFailures > 0)
      problems.push(`${result.consumerFailures} "license job failed" lines in ${path.relative(root, logFile)}`);
  } catch (error) {
    problems.push(`failed: ${error.message}`);
  } finally {
    await stopAllAndWait();
  }
  return finishReport(result, problems);
}

function finishReport(result, problems) {
  const verdict = (ok, valid = true) => (!valid ? "INVALID" : ok ? "PASS" : "MISS");
  const jobVerdict = (job) =>
    job ? verdict(job.seconds <= TARGET.seconds && job.floorRatio <= TARGET.floorRatio, job.valid) : "INVALID";
  const p99Ratio = result.idle && result.during ? result.during.p99 / Math.max(result.idle.p99, 1) : Number.NaN;
  const readsValid = [result.idle, result.during].every(
    (r) => r && r.non2xx === 0 && r.errors === 0 && r.timeouts === 0,
  );
  result.verdicts = {
    group: jobVerdict(result.group),
    dynamic: jobVerdict(result.dynamic),
    interactive: result.during ? verdict(p99Ratio <= TARGET.p99Ratio, readsValid) : "INVALID",
    underLoad: result.removal ? verdict(result.removal.idleRatio <= TARGET.loadRatio) : "INVALID",
  };
  result.p99Ratio = p99Ratio;
  result.problems = problems;
  const invalid = problems.length > 0 || Object.values(result.verdicts).includes("INVALID");
  result.valid = !invalid;

  const f = result.floor;
  const row = (name, value, ratio, target, v) =>
    `${name.padEnd(44)} ${value.padStart(14)} ${ratio.padStart(8)}   ${target.padEnd(24)} ${v}`;
  const jobRow = (name, job, v) =>
    row(
      name,
      job ? `${fmt(job.seconds, 2)} s` : "-",
      job ? `${fmt(job.floorRatio, 1)}x` : "-",
      `≤ ${TARGET.seconds} s, ≤ ${TARGET.floorRatio}x floor`,
      v,
    );
  const lines = [
    `seatflow group bench — N = ${result.settings.users}, wrangler dev on 127.0.0.1, ${os.cpus().length} CPUs${result.seedSeconds ? `, seeded in ${fmt(result.seedSeconds)} s` : ""}`,
    `raw SQLite floor: ${f ? `${fmt(f.seconds, 3)} s` : "-"} to write N assignment rows by 1,000-row keyset chunks, one transaction each`,
    `  (median of ${f ? f.runs.length : "?"} copies into an emptied table: ${f ? f.runs.map((r) => fmt(r, 3)).join(", ") : "-"} s)`,
    `  (${floorEngineNote}; WAL, synchronous=${f ? f.pragmas.synchronous : "?"})`,
    "",
    row("run", "measured", "ratio", "target", "verdict"),
    jobRow("group assignLicense (EMS) over N members", result.group, result.verdicts.group),
    jobRow("dynamic rule re-evaluation (E3) over N", result.dynamic, result.verdicts.dynamic),
    row(
      "GET /users/{id} p99: idle → during group job",
      result.idle && result.during ? `${fmt(result.idle.p99, 0)} → ${fmt(result.during.p99, 0)} ms` : "-",
      `${fmt(p99Ratio, 2)}x`,
      `≤ ${TARGET.p99Ratio}x idle`,
      result.verdicts.interactive,
    ),
    row(
      "group job under that read load vs idle job",
      result.removal ? `${fmt(result.removal.seconds, 2)} s` : "-",
      result.removal ? `${fmt(result.removal.idleRatio, 1)}x` : "-",
      `≤ ${TARGET.loadRatio}x the idle job`,
      result.verdicts.underLoad,
    ),
  ];
  if (result.group)
    lines.push(
      `  group job: POST ${fmt(result.group.postSeconds * 1000, 0)} ms; states ${result.group.states.map((s) => `${s.state}@${fmt(s.atSeconds, 2)}s`).join(" → ")}; EMS consumedUnits ${result.group.consumedUnits}`,
    );
  if (result.dynamic)
    lines.push(
      `  rule job: PATCH ${fmt(result.dynamic.patchSeconds * 1000, 0)} ms; done by ${result.dynamic.method}${result.dynamic.states.length ? ` (${result.dynamic.states.map((s) => `${s.status}@${fmt(s.atSeconds, 2)}s`).join(" → ")})` : ""}; E3 consumedUnits ${result.dynamic.consumedUnits}`,
    );
  if (result.idle && result.during)
    lines.push(
      `  reads: idle ${fmt(result.idle.throughput, 0)} req/s p50 ${fmt(result.idle.p50, 0)} ms; during the job ${fmt(result.during.throughput, 0)} req/s p50 ${fmt(result.during.p50, 0)} ms, max ${fmt(result.during.max, 0)} ms, ${result.during.requests} requests`,
    );
  for (const p of problems) lines.push(`  INVALID: ${p}`);
  return { report: result, lines, invalid };
}

await runAloneIfMain(import.meta.url, "groups", runGroups);
