// The rule-isolation bench: one tenant's heaviest dynamic membership rules against another tenant's request latency.
//
// 1. seed (CLI, before wrangler dev starts): tenant A (`bench-rules-seed`) with N users (default 20,000) whose
//    rule-readable attributes are as long as the wire allows; tenant B (`bench-seed`) with 200 licensable users and an
//    E3 pool, as the REST bench's;
// 2. B's load, autocannon at concurrency 5 each: GET /v1.0/users/{id}, and assignLicense assign/remove pairs on users
//    of their own; measured three times: with A idle; with A busy on trivial rules (the control: the same traffic,
//    jobs and user changes, but rules that cost nothing); with A busy on the heaviest rules;
// 3. A busy: it saves G (default 3) dynamic groups, which starts G evaluations over its N users; while B is measured,
//    A keeps re-saving one of the rules (a new evaluation each time its job ends) and changes its users' attributes at
//    concurrency 2 (each change evaluates every rule for that user). The heaviest rule is the one that costs the most
//    time per user within the limits: about a hundred tiny -match patterns, together at the rule length limit, over
//    attributes that never match (so every one is read).
//
// Figures: B's p50/p99 per request kind in each phase, and the ratios to idle (target: heaviest p50 ≤ 1.5x idle;
// PASS/MISS; p99 and the control are printed, not judged). How much rule work A got done while B was measured is
// printed too (rule jobs finished, user changes made). No absolute timing is asserted. Options (env): BENCH_RULE_USERS (default 20000),
// BENCH_RULE_GROUPS (3), BENCH_RULE_DURATION (s per phase, 20), BENCH_WARMUP (s, 3), BENCH_CONNECTIONS (per B load, 5).
import { mkdir, readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import autocannon from "autocannon";
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

const USERS = Number(process.env.BENCH_RULE_USERS ?? 20_000);
const GROUPS = Number(process.env.BENCH_RULE_GROUPS ?? 3);
const DURATION = Number(process.env.BENCH_RULE_DURATION ?? 20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 5);
const TARGET = { p50Ratio: 1.5 };
/** Entra's rule length limit, as functions/directory/membership-rule.ts keeps it. */
const MAX_RULE_LENGTH = 3072;

/**
 * The rule that costs the most time per user within the limits (measured against the alternatives in Node: a hundred
 * tiny patterns cost ~1 ms a user on 256-character values, where the largest single program, `a{510}`, costs ~0.1 ms;
 * re2js's cost per test is mostly per character, whatever the pattern). `letter` never occurs in A's attributes
 * (lower-case a's and digits), so every -or operand is read; case-insensitive matching folds it once per character.
 */
function heaviestRule(letter) {
  const properties = ["user.displayName", "user.mail", "user.jobTitle", "user.department", "user.companyName"];
  let rule = `${properties[0]} -match "${letter}"`;
  for (let i = 1; ; i++) {
    const clause = ` -or ${properties[i % properties.length]} -match "${letter}"`;
    if (rule.length + clause.length > MAX_RULE_LENGTH) return rule;
    rule += clause;
  }
}

async function call(base, key, method, p, body) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}

/**
 * CPU seconds the processes of `pgid` (wrangler dev and its workerd) have used, from /proc: how much work a phase put
 * on the one isolate both tenants share. Linux only; null elsewhere.
 */
async function groupCpuSeconds(pgid) {
  try {
    let ticks = 0;
    for (const pid of await readdir("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
      // pid (comm) state ppid pgrp …: fields after the command name, which may hold spaces
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks / 100;
  } catch {
    return null;
  }
}

/** B's two loads at once, each on its own connections: reads rotating over B's users, and assign/remove pairs. */
async function neighbourLoad(base, b, duration) {
  const headers = { authorization: `Bearer ${b.key}`, "content-type": "application/json" };
  const assign = JSON.stringify({ addLicenses: [{ skuId: b.skuId, disabledPlans: [] }], removeLicenses: [] });
  const remove = JSON.stringify({ addLicenses: [], removeLicenses: [b.skuId] });
  let nextRead = 0;
  let nextPair = 0;
  // Pairs use the second half of B's users, one user per connection per run, so pairs never contend for a user.
  const half = Math.floor(b.userIds.length / 2);
  const reads = () =>
    Array.from({ length: 20 }, () => ({
      method: "GET",
      path: `/v1.0/users/${b.userIds[nextRead++ % half]}`,
      headers,
    }));
  const pair = () => {
    const user = b.userIds[half + (nextPair++ % (b.userIds.length - half))];
    return [
      { method: "POST", path: `/v1.0/users/${user}/assignLicense`, headers, body: assign },
      { method: "POST", path: `/v1.0/users/${user}/assignLicense`, headers, body: remove },
    ];
  };
  const cannon = (make) =>
    autocannon({
      url: base,
      connections: CONNECTIONS,
      pipelining: 1,
      timeout: 30,
      duration,
      requests: make(),
      setupClient: (client) => client.setRequests(make()),
    });
  const [read, write] = await Promise.all([cannon(reads), cannon(pair)]);
  return { read: summarize("GET /v1.0/users/{id}", read), write: summarize("assignLicense assign/remove", write) };
}

/** A rule as cheap as rules get, matching nobody: the control phase's. */
const trivialRule = (letter) => `user.department -eq "${letter}"`;

/** Tenant A busy until `stop()`: `ruleOf`'s rules re-saved as their jobs finish, and a stream of user changes. */
function busyTenant(base, a, groupIds, ruleOf) {
  let stopped = false;
  const stats = { ruleSaves: 0, ruleJobsDone: 0, userChanges: 0, errors: 0, lastError: "" };
  const admin = (method, p, body) => call(base, a.key, method, p, body);
  const note = (error) => {
    stats.errors++;
    stats.lastError = error.message;
  };
  const rules = async () => {
    let letter = "k";
    while (!stopped) {
      letter = letter === "k" ? "q" : "k";
      try {
        await admin("PATCH", `/v1.0/groups/${groupIds[0]}`, { membershipRule: ruleOf(letter) });
        stats.ruleSaves++;
        for (;;) {
          if (stopped) return;
          await sleep(200);
          const g = await admin("GET", `/v1.0/groups/${groupIds[0]}?$select=membershipRuleProcessingStatus`);
          if (g.membershipRuleProcessingStatus?.status === "Succeeded") break;
        }
        stats.ruleJobsDone++;
      } catch (error) {
        note(error);
        await sleep(500);
      }
    }
  };
  const changes = async (worker) => {
    let i = worker;
    while (!stopped) {
      const user = a.changeUserIds[i % a.changeUserIds.length];
      i += 2;
      try {
        await admin("PATCH", `/v1.0/users/${user}`, { jobTitle: `${"a".repeat(120)}${i}` });
        stats.userChanges++;
      } catch (error) {
        note(error);
        await sleep(200);
      }
    }
  };
  const running = Promise.all([rules(), changes(0), changes(1)]);
  return {
    stats,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

/** Runs the bench with its state under `stateRoot` (created; the caller wipes it). */
export async function runRuleIsolation(stateRoot) {
  await mkdir(stateRoot, { recursive: true });
  const persist = path.relative(root, stateRoot);
  const problems = [];
  const result = { settings: { users: USERS, groups: GROUPS, durationSeconds: DURATION, connections: CONNECTIONS } };
  try {
    log("rules: applying migrations");
    await run(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist]);
    log(`rules: seeding tenant A (${USERS} users of maximal attributes) and tenant B (200 users)`);
    const a = await seedThroughCli(persist, "bench-rules-seed", ["--users", String(USERS)], { timeoutMs: 5 * 60_000 });
    const b = await seedThroughCli(persist, "bench-seed", ["--users", "200"]);

    const app = await startWranglerDev("seatflow", { persist, logFile: path.join(stateRoot, "seatflow-dev.log") });
    log(`rules: wrangler dev on ${app.url}`);
    await app.ready;
    const base = app.url;

    // Sanity: B's requests work, and the rule A will save is one the service accepts.
    await call(base, b.key, "GET", `/v1.0/users/${b.userIds[0]}`);
    const rule = heaviestRule("k");
    result.rule = { length: rule.length, clauses: rule.split(" -or ").length, example: rule.slice(0, 90) };

    log(`rules: B's load with A idle: warm-up ${WARMUP}s, then ${DURATION}s`);
    await neighbourLoad(base, b, WARMUP);
    const cpu0 = await groupCpuSeconds(app.child.pid);
    result.idle = await neighbourLoad(base, b, DURATION);
    const cpu1 = await groupCpuSeconds(app.child.pid);
    if (cpu0 !== null && cpu1 !== null) result.idle.serverCpuSeconds = cpu1 - cpu0;

    // A's groups, saved once with trivial rules; each busy phase gives them its rules (a new evaluation each).
    const groupIds = [];
    for (let i = 0; i < GROUPS; i++) {
      const g = await call(base, a.key, "POST", "/v1.0/groups", {
        displayName: `Rule group ${i}`,
        mailEnabled: false,
        mailNickname: `rulegroup${i}`,
        securityEnabled: true,
        groupTypes: ["DynamicMembership"],
        membershipRule: trivialRule("z"),
        membershipRuleProcessingState: "On",
      });
      groupIds.push(g.id);
    }
    const busyPhase = async (name, ruleOf) => {
      log(`rules: A saves ${GROUPS} ${name} rules and keeps busy; B's load for ${DURATION}s`);
      for (const [i, id] of groupIds.entries())
        await call(base, a.key, "PATCH", `/v1.0/groups/${id}`, { membershipRule: ruleOf(i % 2 ? "q" : "k") });
      const busy = busyTenant(base, a, groupIds, ruleOf);
      // Let A's jobs get going, as a neighbour would meet them.
      await sleep(1000);
      const cpu0 = await groupCpuSeconds(app.child.pid);
      const load = await neighbourLoad(base, b, DURATION);
      const cpu1 = await groupCpuSeconds(app.child.pid);
      if (cpu0 !== null && cpu1 !== null) load.serverCpuSeconds = cpu1 - cpu0;
      await busy.stop();
      const tenantA = { ...busy.stats, groupStates: [] };
      for (const id of groupIds) {
        const g = await call(base, a.key, "GET", `/v1.0/groups/${id}?$select=membershipRuleProcessingStatus`);
        tenantA.groupStates.push(g.membershipRuleProcessingStatus?.status ?? null);
      }
      if (tenantA.ruleSaves === 0 && tenantA.userChanges === 0)
        problems.push(`${name}: tenant A did no work while B was measured (${tenantA.lastError})`);
      // A's evaluations go on after the phase; let them end before the next one.
      for (let i = 0; i < 600; i++) {
        const states = await Promise.all(
          groupIds.map((id) => call(base, a.key, "GET", `/v1.0/groups/${id}?$select=membershipRuleProcessingStatus`)),
        );
        if (states.every((g) => g.membershipRuleProcessingStatus?.status === "Succeeded")) break;
        await sleep(1000);
      }
      return { ...load, tenantA };
    };
    result.control = await busyPhase("trivial", trivialRule);
    result.busy = await busyPhase("heaviest", heaviestRule);
    for (const phase of ["idle", "control", "busy"]) {
      for (const r of [result[phase].read, result[phase].write]) {
        if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0)
          problems.push(`${phase} ${r.name}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
      }
    }
  } catch (error) {
    problems.push(`failed: ${error.message}`);
  } finally {
    await stopAllAndWait();
  }
  return finishReport(result, problems);
}

function finishReport(result, problems) {
  const kinds = ["read", "write"];
  const ratios = {};
  if (result.idle && result.busy && result.control) {
    for (const k of kinds) {
      const idle = result.idle[k];
      ratios[k] = {
        p50: result.busy[k].p50 / Math.max(idle.p50, 1),
        p99: result.busy[k].p99 / Math.max(idle.p99, 1),
        controlP50: result.control[k].p50 / Math.max(idle.p50, 1),
        controlP99: result.control[k].p99 / Math.max(idle.p99, 1),
      };
    }
  }
  result.ratios = ratios;
  const invalid = problems.length > 0 || !result.idle || !result.busy || !result.control;
  result.verdicts = Object.fromEntries(
    kinds.map((k) => [k, invalid ? "INVALID" : ratios[k].p50 <= TARGET.p50Ratio ? "PASS" : "MISS"]),
  );
  result.targets = TARGET;
  result.problems = problems;
  result.valid = !invalid;

  const row = (name, idle, control, busy, ratio, target, verdict) =>
    `${name.padEnd(34)} ${idle.padStart(9)} ${control.padStart(16)} ${busy.padStart(16)} ${ratio.padStart(15)}   ${target.padEnd(12)} ${verdict}`;
  const ms = (r, p) => (r ? `${fmt(r[p], 0)} ms` : "-");
  const x = (n) => (Number.isFinite(n) ? `${fmt(n, 2)}x` : "-");
  const lines = [
    `seatflow rule-isolation bench — tenant A: ${result.settings.users} users, ${result.settings.groups} dynamic groups${result.rule ? `; the heaviest rule: ${result.rule.length} characters, ${result.rule.clauses} -match clauses` : ""}`,
    `  tenant B: concurrency ${result.settings.connections} per load, ${result.settings.durationSeconds}s per phase; ${os.cpus().length} CPUs; ratios are to A idle, control → heaviest`,
    "",
    row("tenant B", "A idle", "A trivial rules", "A heaviest", "ratio", "target", "verdict"),
  ];
  for (const k of kinds) {
    const name = result.idle?.[k]?.name ?? k;
    const r = ratios[k];
    for (const p of ["p50", "p99"]) {
      lines.push(
        row(
          `${name} ${p}`,
          ms(result.idle?.[k], p),
          ms(result.control?.[k], p),
          ms(result.busy?.[k], p),
          r ? `${x(p === "p50" ? r.controlP50 : r.controlP99)} → ${x(r[p])}` : "-",
          p === "p50" ? `≤ ${TARGET.p50Ratio}x idle` : "(reported)",
          p === "p50" ? result.verdicts[k] : "",
        ),
      );
    }
    if (result.idle && result.busy)
      lines.push(
        `  ${name}: ${fmt(result.idle[k].throughput, 0)} req/s idle, ${fmt(result.control?.[k].throughput, 0)} control, ${fmt(result.busy[k].throughput, 0)} heaviest; max ${fmt(result.busy[k].max, 0)} ms`,
      );
  }
  if (result.idle?.serverCpuSeconds !== undefined)
    lines.push(
      `  server CPU while B was measured (wrangler dev + workerd): ${fmt(result.idle.serverCpuSeconds)} s idle, ${fmt(result.control?.serverCpuSeconds)} s control, ${fmt(result.busy?.serverCpuSeconds)} s heaviest, in ${result.settings.durationSeconds} s each`,
    );
  for (const phase of ["control", "busy"]) {
    const h = result[phase]?.tenantA;
    if (!h) continue;
    lines.push(
      `  tenant A during ${phase === "busy" ? "heaviest" : "control"}: ${h.ruleSaves} rule saves, ${h.ruleJobsDone} evaluations over all users finished, ${h.userChanges} user changes; states at the end ${JSON.stringify(h.groupStates)}${h.errors ? `; ${h.errors} errors (last: ${h.lastError.slice(0, 200)})` : ""}`,
    );
  }
  for (const p of problems) lines.push(`  INVALID: ${p}`);
  return { report: result, lines, invalid };
}

await runAloneIfMain(import.meta.url, "rules", runRuleIsolation);
