// The purge bench: the daily retention purge over N due mailboxes holding M items (default 100,000 / 1,000,000) on
// wrangler dev, against a raw SQLite floor measured in the same run.
//
// 1. floor: bench/purge-floor.mjs deletes what the purge deletes, in node:sqlite, pages of the purge's own size (500
//    mailboxes of about 10 items: the purge cuts its pages at 5,000 items), one transaction a page; median of 3 copies;
// 2. seed (CLI `bench-purge-seed`, getPlatformProxy on this bench's persist dir, before wrangler dev starts): one tenant,
//    N users whose mailboxes are all past their window, M items spread evenly, every 10th mailbox held whole (half on
//    litigation hold, half inactive), 1 item in 10 under a 7-year label: the floor's data, built the floor's way;
// 3. the purge through the Worker's real scheduled handler: `wrangler dev --test-scheduled`, GET
//    /cdn-cgi/local/scheduled?cron=0+3+*+*+*&time=<now> (miniflare's trigger; wrangler's /__scheduled drops the
//    time, so the run's asOf would not be the one sent), timed until GET /api/retention/ledger shows the run Complete
//    (polled every 100 ms); the run goes through the queue in invocations of at most 900 D1 queries;
// 4. verify: the ledger's counts against the seed's (items and bytes deleted, mailboxes purged, what holds and the label
//    kept), held mailboxes' items untouched, nothing left for a preview of the same day.
//
// Targets: ≤ 15 s and ≤ 5x the floor. Options (env): BENCH_PURGE_MAILBOXES (default 100000), BENCH_PURGE_ITEMS
// (default 1000000), BENCH_PURGE_TIMEOUT (s, default 300), BENCH_PURGE_FLOOR_COPIES (default 3).
import { mkdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import process from "node:process";
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
  wrangler,
} from "./lib.mjs";
import { measurePurgeFloor } from "./purge-floor.mjs";

const MAILBOXES = Number(process.env.BENCH_PURGE_MAILBOXES ?? 100_000);
const ITEMS = Number(process.env.BENCH_PURGE_ITEMS ?? 1_000_000);
const TIMEOUT_S = Number(process.env.BENCH_PURGE_TIMEOUT ?? 300);
const FLOOR_COPIES = Number(process.env.BENCH_PURGE_FLOOR_COPIES ?? 3);
/** The purge's pages: cut at 5,000 items (functions/retention/purge-job.ts ITEMS_PER_PAGE), about 10 items a mailbox. */
const FLOOR_PAGE_MAILBOXES = Math.max(1, Math.round(5000 / Math.max(1, ITEMS / MAILBOXES)));
const POLL_MS = 100;
const TARGET = { seconds: 15, floorRatio: 5 };

async function call(base, key, method, p, body) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}

/** Runs the purge bench with its state under `stateRoot` (created; the caller wipes it). */
export async function runPurge(stateRoot) {
  await mkdir(stateRoot, { recursive: true });
  const persist = path.relative(root, stateRoot);
  const problems = [];
  const result = { settings: { mailboxes: MAILBOXES, items: ITEMS, pollMs: POLL_MS }, targets: TARGET };
  try {
    // ---- 1. floor (before any server runs) ----
    log(`purge: raw SQLite floor over ${MAILBOXES} mailboxes / ${ITEMS} items, pages of ${FLOOR_PAGE_MAILBOXES}`);
    const floor = await measurePurgeFloor(path.join(stateRoot, "floor.sqlite"), {
      mailboxes: MAILBOXES,
      items: ITEMS,
      pageMailboxes: FLOOR_PAGE_MAILBOXES,
      copies: FLOOR_COPIES,
    });
    const { plans: _plans, ...floorReport } = floor;
    result.floor = floorReport;
    log(`purge: floor ${fmt(floor.seconds, 3)} s (median of ${floor.runs.map((r) => fmt(r, 3)).join(", ")})`);

    // ---- 2. seed ----
    log("purge: applying migrations");
    await run(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist]);
    log(`purge: seeding ${MAILBOXES} due mailboxes with ${ITEMS} items`);
    const seedStart = performance.now();
    const seed = await seedThroughCli(
      persist,
      "bench-purge-seed",
      ["--mailboxes", String(MAILBOXES), "--items", String(ITEMS)],
      { timeoutMs: 10 * 60_000 },
    );
    result.seedSeconds = (performance.now() - seedStart) / 1000;
    result.expect = seed.expect;
    log(`purge: seeded in ${fmt(result.seedSeconds)} s: ${JSON.stringify(seed.expect)}`);

    const logFile = path.join(stateRoot, "seatflow-dev.log");
    const app = await startWranglerDev("seatflow", { persist, logFile, extraArgs: ["--test-scheduled"] });
    log(`purge: wrangler dev on ${app.url}`);
    await app.ready;
    const base = app.url;
    const admin = (method, p, body) => call(base, seed.key, method, p, body);
    const sample = await admin("GET", "/api/mailboxes?state=Disconnected&litigationHold=false&$top=1");
    if (sample.value.length !== 1) throw new Error("the seeded tenant shows no disconnected mailbox");
    const heldBefore = (await admin("GET", "/api/mailboxes?litigationHold=true&$top=50")).value;

    // ---- 3. the purge, through the scheduled handler ----
    await sleep(1000);
    log("purge: GET /cdn-cgi/local/scheduled?cron=0+3+*+*+* (the daily run)");
    const scheduledTime = Date.now();
    const t0 = performance.now();
    const fired = await fetch(
      `${base}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("0 3 * * *").replace(/%20/g, "+")}&time=${scheduledTime}`,
    );
    await fired.text();
    if (!fired.ok) throw new Error(`/cdn-cgi/local/scheduled answered ${fired.status}`);
    const firedMs = performance.now() - t0;
    let runRow;
    let polls = 0;
    let pollErrors = 0;
    const deadline = t0 + TIMEOUT_S * 1000;
    for (;;) {
      if (performance.now() > deadline)
        throw new Error(`the run did not finish within ${TIMEOUT_S}s (BENCH_PURGE_TIMEOUT)`);
      const before = performance.now();
      polls++;
      try {
        const ledger = await admin("GET", "/api/retention/ledger?$top=1");
        runRow = ledger.value[0];
        if (runRow?.state === "Complete") break;
      } catch {
        pollErrors++;
      }
      await sleep(Math.max(0, POLL_MS - (performance.now() - before)));
    }
    const seconds = (performance.now() - t0) / 1000;
    result.purge = {
      seconds,
      floorRatio: seconds / floor.seconds,
      firedSeconds: firedMs / 1000,
      polls,
      pollErrors,
      run: runRow,
    };
    log(`purge: run complete in ${fmt(seconds, 2)} s`);

    // ---- 4. verify ----
    const e = seed.expect;
    const expectEq = (what, got, want) => {
      if (got !== want) problems.push(`${what}: ${got}, expected ${want}`);
    };
    expectEq("trigger", runRow.trigger, "scheduled");
    expectEq("asOf", runRow.asOf, new Date(scheduledTime).toISOString());
    expectEq("items purged", runRow.itemsPurged, e.itemsDeleted);
    expectEq("bytes purged", runRow.bytesPurged, e.bytesDeleted);
    expectEq("mailboxes purged", runRow.mailboxesPurged, e.mailboxesPurged);
    expectEq("mailboxes visited", runRow.mailboxes, e.dueMailboxes);
    const held = runRow.blocked.litigationHold.mailboxes + runRow.blocked.inactiveMailbox.mailboxes;
    expectEq("held mailboxes in the ledger", held, e.heldMailboxes);
    expectEq(
      "held items in the ledger",
      runRow.blocked.litigationHold.items + runRow.blocked.inactiveMailbox.items,
      e.heldItems,
    );
    const labelKept = runRow.blocked.labels.reduce((n, l) => n + l.items, 0);
    expectEq("items kept by the label", labelKept, e.itemsKept - e.heldItems);
    const heldAfter = (await admin("GET", "/api/mailboxes?litigationHold=true&$top=50")).value;
    expectEq(
      "held mailboxes' items",
      JSON.stringify(heldAfter.map((m) => [m.userId, m.itemCount])),
      JSON.stringify(heldBefore.map((m) => [m.userId, m.itemCount])),
    );
    const preview = await admin(
      "GET",
      `/api/retention/preview?date=${new Date(scheduledTime).toISOString().slice(0, 10)}&$top=200`,
    );
    const stillDue = preview.mailboxes.filter((m) => m.itemsToDelete > 0).length;
    expectEq("mailboxes with anything left to delete (preview, first 200)", stillDue, 0);
    result.verified = problems.length === 0;

    await stopAllAndWait();
    const devLog = await readFile(logFile, "utf8").catch(() => "");
    result.consumerFailures = (devLog.match(/license job failed/g) ?? []).length;
    if (result.consumerFailures > 0)
      problems.push(`${result.consumerFailures} "license job failed" lines in the dev log`);
  } catch (error) {
    problems.push(`failed: ${error.message}`);
  } finally {
    await stopAllAndWait();
  }
  return finishReport(result, problems);
}

function finishReport(result, problems) {
  const p = result.purge;
  const invalid = problems.length > 0 || !p;
  const verdict = invalid
    ? "INVALID"
    : p.seconds <= TARGET.seconds && p.floorRatio <= TARGET.floorRatio
      ? "PASS"
      : "MISS";
  result.verdict = verdict;
  result.problems = problems;
  result.valid = !invalid;
  const f = result.floor;
  const e = result.expect;
  const lines = [
    `seatflow purge bench — ${MAILBOXES.toLocaleString("en")} due mailboxes, ${ITEMS.toLocaleString("en")} items, wrangler dev on 127.0.0.1, ${os.cpus().length} CPUs${result.seedSeconds ? `, seeded in ${fmt(result.seedSeconds)} s` : ""}`,
    `raw SQLite floor: ${f ? `${fmt(f.seconds, 3)} s (CPU ${fmt(f.cpuSeconds, 3)} s)` : "-"} to delete the same rows in pages of ${f?.pageMailboxes ?? "?"} mailboxes, one transaction each`,
    `  (median of ${f ? f.runs.length : "?"} fresh copies: ${f ? f.runs.map((r) => fmt(r, 3)).join(", ") : "-"} s; ${f?.engine ?? ""})`,
    e
      ? `  to delete ${e.itemsDeleted.toLocaleString("en")} items, keep ${e.itemsKept.toLocaleString("en")} (${e.heldItems.toLocaleString("en")} in ${e.heldMailboxes.toLocaleString("en")} held mailboxes), purge ${e.mailboxesPurged.toLocaleString("en")} mailboxes`
      : "",
    "",
    `${"run".padEnd(44)} ${"measured".padStart(14)} ${"ratio".padStart(8)}   ${"target".padEnd(24)} verdict`,
    `${"daily purge through the scheduled handler".padEnd(44)} ${(p ? `${fmt(p.seconds, 2)} s` : "-").padStart(14)} ${(p ? `${fmt(p.floorRatio, 1)}x` : "-").padStart(8)}   ${`≤ ${TARGET.seconds} s, ≤ ${TARGET.floorRatio}x floor`.padEnd(24)} ${verdict}`,
  ];
  if (p) {
    lines.push(
      `  ledger: ${p.run.mailboxes} mailboxes, ${p.run.mailboxesPurged} purged, ${p.run.itemsPurged} items / ${p.run.bytesPurged} bytes deleted; blocked: litigation hold ${p.run.blocked.litigationHold.mailboxes}, inactive ${p.run.blocked.inactiveMailbox.mailboxes}, labels ${p.run.blocked.labels.map((l) => `${l.displayName} ${l.items}`).join(", ")}`,
      `  the trigger answered in ${fmt(p.firedSeconds * 1000, 0)} ms; ${p.polls} ledger polls (${p.pollErrors} failed)`,
    );
  }
  for (const problem of problems) lines.push(`  INVALID: ${problem}`);
  return { report: result, lines, invalid };
}

await runAloneIfMain(import.meta.url, "purge", runPurge);
