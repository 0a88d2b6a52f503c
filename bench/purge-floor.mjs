// The raw SQLite floor of the retention purge: how long SQLite alone takes to delete what a purge deletes from N due
// mailboxes holding M items (10% of the mailboxes on litigation hold or inactive, 10% of the items under a label still
// in force) in bounded pages keyset by mailbox seq, each page its own transaction, on a WAL file database (as D1 local
// is), with the tables and indexes of db/schema/retention.ts. No Worker, no D1, no JSON over HTTP, no ledger, no
// rules: whatever seatflow's scheduled purge does above this is its overhead.
//
// Each page: read the next page of due mailboxes from the partial due index, delete their items that no label keeps,
// then mark each emptied mailbox Purged and move the others' next purge to their earliest kept item. Each copy runs on
// a fresh copy of one built database file; the floor is the median of the copies (see bench/floor.mjs on why a median).
//
// Alone: node bench/purge-floor.mjs [--mailboxes 100000] [--items 1000000] [--page 100] [--copies 5]
//   [--layout rowid] [--arrival by-mailbox]   (the alternatives the schema was measured against)
import { copyFile, mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { floorEngineNote, loadSqlite } from "./floor.mjs";

const TENANT = "00000000-0000-4000-8000-000000000001";
// The run's clock, fixed: every mailbox's window ended the day before, every label runs far past it.
const NOW = "2026-06-01T03:00:00.000Z";
const DAY_MS = 86_400_000;
const LEGAL_DAYS = 2555;

// The purge's tables as drizzle-kit generates them from db/schema/retention.ts, with the hand-written WITHOUT ROWID
// (every column and every index a delete or an update must maintain). `rowid` is the layout the schema decided
// against, kept to measure the choice.
const schema = (layout) => `
  CREATE TABLE mailboxes (
    seq integer PRIMARY KEY AUTOINCREMENT NOT NULL, tenant_id text NOT NULL, user_seq integer NOT NULL,
    state text NOT NULL, litigation_hold integer DEFAULT false NOT NULL, litigation_hold_since text, purge_after text,
    next_purge_at text, item_count integer DEFAULT 0 NOT NULL, size_bytes integer DEFAULT 0 NOT NULL,
    last_item_seq integer DEFAULT 0 NOT NULL, state_changed_at text NOT NULL, created_at text NOT NULL,
    updated_at text NOT NULL);
  CREATE INDEX mailboxes_user ON mailboxes (user_seq, seq);
  CREATE UNIQUE INDEX mailboxes_user_active ON mailboxes (user_seq) WHERE state = 'Active';
  CREATE INDEX mailboxes_tenant_state ON mailboxes (tenant_id, state, seq);
  CREATE INDEX mailboxes_tenant_hold ON mailboxes (tenant_id, seq) WHERE litigation_hold = 1;
  CREATE INDEX mailboxes_purge_due ON mailboxes (tenant_id, seq, next_purge_at, item_count)
    WHERE state = 'Disconnected' AND litigation_hold = 0;
  ${
    layout === "rowid"
      ? `CREATE TABLE mailbox_items (
          seq integer PRIMARY KEY, mailbox_seq integer NOT NULL, item_seq integer NOT NULL, subject text NOT NULL,
          size_bytes integer NOT NULL, received_at text NOT NULL, label_seq integer, labeled_at text,
          retained_until text);
         CREATE UNIQUE INDEX mailbox_items_key ON mailbox_items (mailbox_seq, item_seq);`
      : `CREATE TABLE mailbox_items (
          mailbox_seq integer NOT NULL, item_seq integer NOT NULL, subject text NOT NULL, size_bytes integer NOT NULL,
          received_at text NOT NULL, label_seq integer, labeled_at text, retained_until text,
          PRIMARY KEY (mailbox_seq, item_seq)) WITHOUT ROWID;`
  }
  CREATE INDEX mailbox_items_label ON mailbox_items (label_seq, mailbox_seq) WHERE label_seq IS NOT NULL;
`;

// A small deterministic generator (mulberry32): every build of the same size holds the same data.
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const subjects = ["Quarterly report", "Re: contract renewal", "Invoice", "Team offsite agenda", "Fwd: onboarding plan"];

/**
 * Builds the template database; returns what a correct purge must leave behind. Items are inserted in the order mail
 * arrives (round robin over the mailboxes, `arrival: "interleaved"`), not mailbox by mailbox: in a rowid table that
 * scatters each mailbox's items over many pages, which is what a real tenant's table looks like after months of mail.
 */
function build(DatabaseSync, file, { mailboxes, items, layout, arrival }) {
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(schema(layout));
    const next = random(15);
    const due = new Date(Date.parse(NOW) - DAY_MS).toISOString();
    // The data first, mailbox by mailbox (so both arrival orders hold the same rows), then the inserts.
    const first = new Int32Array(mailboxes + 2);
    for (let seq = 1; seq <= mailboxes + 1; seq++) first[seq] = Math.floor(((seq - 1) * items) / mailboxes);
    const size = new Int32Array(items);
    const received = new Float64Array(items);
    const labelled = new Uint8Array(items);
    for (let j = 0; j < items; j++) {
      size[j] = 2_000 + Math.floor(next() * 150_000);
      received[j] = Date.parse(NOW) - Math.floor((1 + next() * 700) * DAY_MS);
      labelled[j] = next() < 0.1 ? 1 : 0;
    }
    // 1 in 10 mailboxes is held as a whole: half on litigation hold (disconnected), half inactive.
    const held = (seq) => seq % 10 === 0;
    const insertMailbox = db.prepare(
      `INSERT INTO mailboxes (seq, tenant_id, user_seq, state, litigation_hold, purge_after, next_purge_at, item_count,
         size_bytes, last_item_seq, state_changed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertItem = db.prepare(
      `INSERT INTO mailbox_items (mailbox_seq, item_seq, subject, size_bytes, received_at, label_seq, labeled_at,
         retained_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const addItem = (seq, i) => {
      const j = first[seq] + i - 1;
      insertItem.run(
        seq,
        i,
        `${subjects[j % subjects.length]} #${j}`,
        size[j],
        new Date(received[j]).toISOString(),
        labelled[j] ? 1 : null,
        labelled[j] ? new Date(received[j] + DAY_MS).toISOString() : null,
        labelled[j] ? new Date(received[j] + LEGAL_DAYS * DAY_MS).toISOString() : null,
      );
    };
    const expect = { deleted: 0, kept: 0, purgedMailboxes: 0, heldMailboxes: 0 };
    db.exec("BEGIN");
    let most = 0;
    for (let seq = 1; seq <= mailboxes; seq++) {
      const count = first[seq + 1] - first[seq];
      most = Math.max(most, count);
      let bytes = 0;
      let kept = 0;
      for (let j = first[seq]; j < first[seq + 1]; j++) {
        bytes += size[j];
        if (held(seq) || labelled[j]) kept++;
      }
      const state = held(seq) && seq % 20 === 0 ? "Inactive" : "Disconnected";
      const window = state === "Inactive" ? null : due;
      const since = "2025-01-01T00:00:00.000Z";
      insertMailbox.run(
        seq,
        TENANT,
        seq,
        state,
        held(seq) ? 1 : 0,
        window,
        window,
        count,
        bytes,
        count,
        due,
        since,
        due,
      );
      expect.kept += kept;
      expect.deleted += count - kept;
      if (held(seq)) expect.heldMailboxes++;
      else if (kept === 0) expect.purgedMailboxes++;
      if (arrival === "by-mailbox") for (let i = 1; i <= count; i++) addItem(seq, i);
    }
    if (arrival !== "by-mailbox") {
      for (let i = 1; i <= most; i++) {
        for (let seq = 1; seq <= mailboxes; seq++) if (i <= first[seq + 1] - first[seq]) addItem(seq, i);
      }
    }
    db.exec("COMMIT");
    db.exec("ANALYZE");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return expect;
  } finally {
    db.close();
  }
}

/** One timed purge over a fresh copy; returns seconds, pages, and the plans SQLite chose. */
function timedPurge(DatabaseSync, file, pageMailboxes) {
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    const pageSql = `SELECT seq FROM mailboxes WHERE tenant_id = ? AND state = 'Disconnected' AND litigation_hold = 0
      AND seq > ? AND next_purge_at <= ? ORDER BY seq LIMIT ${pageMailboxes}`;
    const deleteSql = `DELETE FROM mailbox_items WHERE mailbox_seq IN (SELECT value FROM json_each(?))
      AND (retained_until IS NULL OR retained_until <= ?)`;
    // Counters recounted from what is left (idempotent: a re-run recounts the same), the state from whether anything is.
    const markSql = `UPDATE mailboxes SET
        item_count = (SELECT count(*) FROM mailbox_items i WHERE i.mailbox_seq = mailboxes.seq),
        size_bytes = (SELECT coalesce(sum(size_bytes), 0) FROM mailbox_items i WHERE i.mailbox_seq = mailboxes.seq),
        next_purge_at = (SELECT min(retained_until) FROM mailbox_items i WHERE i.mailbox_seq = mailboxes.seq),
        state = CASE WHEN EXISTS (SELECT 1 FROM mailbox_items i WHERE i.mailbox_seq = mailboxes.seq)
          THEN state ELSE 'Purged' END,
        updated_at = ?
      WHERE seq IN (SELECT value FROM json_each(?))`;
    const plans = {
      page: db
        .prepare(`EXPLAIN QUERY PLAN ${pageSql}`)
        .all(TENANT, 0, NOW)
        .map((r) => r.detail),
      delete: db
        .prepare(`EXPLAIN QUERY PLAN ${deleteSql}`)
        .all("[1]", NOW)
        .map((r) => r.detail),
    };
    const page = db.prepare(pageSql);
    const remove = db.prepare(deleteSql);
    const mark = db.prepare(markSql);
    let cursor = 0;
    let pages = 0;
    let deleted = 0;
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    for (;;) {
      db.exec("BEGIN IMMEDIATE");
      const seqs = page.all(TENANT, cursor, NOW).map((r) => r.seq);
      if (seqs.length === 0) {
        db.exec("COMMIT");
        break;
      }
      const list = JSON.stringify(seqs);
      deleted += Number(remove.run(list, NOW).changes);
      mark.run(NOW, list);
      db.exec("COMMIT");
      pages++;
      cursor = seqs.at(-1);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    // CPU time as well: on a shared machine the wall clock moves with the neighbours' load, CPU time much less.
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const left = db.prepare("SELECT count(*) AS n FROM mailbox_items").get().n;
    const purged = db.prepare("SELECT count(*) AS n FROM mailboxes WHERE state = 'Purged'").get().n;
    return { seconds, cpuSeconds, pages, deleted, left, purged, plans };
  } finally {
    db.close();
  }
}

/**
 * Builds the database under `file` (a template, then one fresh copy per timed purge) and returns the floor: the median
 * seconds of `copies` purges, each checked against what the build says a correct purge leaves.
 */
export async function measurePurgeFloor(
  file,
  {
    mailboxes = 100_000,
    items = 1_000_000,
    pageMailboxes = 100,
    copies = 5,
    layout = "without-rowid",
    arrival = "interleaved",
  } = {},
) {
  const { DatabaseSync } = await loadSqlite();
  await mkdir(path.dirname(file), { recursive: true });
  const template = `${file}.template`;
  const clean = async (f) => {
    for (const suffix of ["", "-wal", "-shm"]) await rm(`${f}${suffix}`, { force: true });
  };
  await clean(template);
  const b0 = process.hrtime.bigint();
  const expect = build(DatabaseSync, template, { mailboxes, items, layout, arrival });
  const buildSeconds = Number(process.hrtime.bigint() - b0) / 1e9;
  const bytes = (await stat(template)).size;
  const runs = [];
  let plans;
  try {
    for (let i = 0; i < copies; i++) {
      await clean(file);
      await copyFile(template, file);
      const run = timedPurge(DatabaseSync, file, pageMailboxes);
      if (run.deleted !== expect.deleted || run.left !== expect.kept || run.purged !== expect.purgedMailboxes) {
        throw new Error(`purge floor left ${JSON.stringify(run)}, expected ${JSON.stringify(expect)}`);
      }
      plans = run.plans;
      runs.push(run);
    }
  } finally {
    await clean(file);
    await clean(template);
  }
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const sorted = runs.map((r) => r.seconds).sort((a, b) => a - b);
  return {
    seconds: median(sorted),
    runs: sorted,
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    mailboxes,
    items,
    itemsDeleted: expect.deleted,
    itemsKept: expect.kept,
    mailboxesPurged: expect.purgedMailboxes,
    mailboxesHeld: expect.heldMailboxes,
    pages: runs[0]?.pages ?? 0,
    pageMailboxes,
    layout,
    arrival,
    databaseBytes: bytes,
    buildSeconds,
    plans,
    engine: floorEngineNote,
  };
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const result = await measurePurgeFloor(path.join(root, "bench", ".state", "purge-floor.sqlite"), {
    mailboxes: Number(arg("mailboxes", 100_000)),
    items: Number(arg("items", 1_000_000)),
    pageMailboxes: Number(arg("page", 100)),
    copies: Number(arg("copies", 5)),
    layout: arg("layout", "without-rowid"),
    arrival: arg("arrival", "interleaved"),
  });
  const f = (n, d = 3) => n.toFixed(d);
  process.stdout.write(
    `${[
      `purge floor (${result.layout}, ${result.arrival}): ${f(result.seconds)} s, median of ${result.runs.map((s) => f(s)).join(", ")}` +
        ` (CPU ${f(result.cpuSeconds)} s)`,
      `  ${result.items.toLocaleString("en")} items in ${result.mailboxes.toLocaleString("en")} due mailboxes: ` +
        `${result.itemsDeleted.toLocaleString("en")} deleted, ${result.itemsKept.toLocaleString("en")} kept, ` +
        `${result.mailboxesPurged.toLocaleString("en")} mailboxes purged, ${result.mailboxesHeld.toLocaleString("en")} held`,
      `  ${result.pages} pages of ${result.pageMailboxes} mailboxes, one transaction each; database ` +
        `${f(result.databaseBytes / 1e6, 0)} MB, built in ${f(result.buildSeconds, 1)} s`,
      `  page plan: ${result.plans.page.join(" / ")}`,
      `  delete plan: ${result.plans.delete.join(" / ")}`,
      `  (${result.engine})`,
    ].join("\n")}\n`,
  );
}
