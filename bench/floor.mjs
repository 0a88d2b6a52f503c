// The raw SQLite floor of group license processing: how long SQLite alone takes to write N assignment rows from a
// group's N members in keyset chunks of 1,000 rows, each chunk its own transaction, on a WAL file database (as D1
// local is). No HTTP, no queue, no JSON, no licensing rules: whatever seatflow does above this is its overhead.
//
// Uses Node's built-in node:sqlite (DatabaseSync). better-sqlite3 is not an option here: its native build targets
// Node 20 while the bench scripts run on Node 22 (the devDependency node@22).
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import process from "node:process";

export const floorEngineNote =
  "node:sqlite (built-in DatabaseSync); better-sqlite3 unusable: its native build targets Node 20, scripts run Node 22";

/** node:sqlite, imported without its ExperimentalWarning (the purge floor uses it too). */
export async function loadSqlite() {
  // node:sqlite prints an ExperimentalWarning on Node 22: keep the bench output clean of it.
  const emit = process.emitWarning;
  process.emitWarning = (warning, ...rest) => {
    const text = typeof warning === "string" ? warning : warning?.message;
    if (/SQLite is an experimental feature/.test(text ?? "")) return;
    return emit.call(process, warning, ...rest);
  };
  try {
    return await import("node:sqlite");
  } finally {
    process.emitWarning = emit;
  }
}

/** Builds the file database with `users` users, all members of one group; returns the timed keyset copy (the median of `repeats`). */
export async function measureFloor(file, users, chunk = 1000, repeats = 5) {
  const { DatabaseSync } = await loadSqlite();
  for (const suffix of ["", "-wal", "-shm"]) await rm(`${file}${suffix}`, { force: true });
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    const pragmas = {
      journal_mode: db.prepare("PRAGMA journal_mode").get().journal_mode,
      synchronous: db.prepare("PRAGMA synchronous").get().synchronous,
    };
    db.exec(`
      CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL);
      CREATE TABLE group_members (group_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (group_id, user_id));
      CREATE TABLE assignments (user_id TEXT NOT NULL, sku_id TEXT NOT NULL, PRIMARY KEY (user_id, sku_id));
    `);
    const groupId = randomUUID();
    const skuId = "efccb6f7-5641-4e0e-bd10-b4976e1bf68e";
    const ids = Array.from({ length: users }, () => randomUUID());
    const insertUser = db.prepare("INSERT INTO users (id) VALUES (?)");
    const insertMember = db.prepare("INSERT INTO group_members (group_id, user_id) VALUES (?, ?)");
    db.exec("BEGIN");
    for (const id of ids) {
      insertUser.run(id);
      insertMember.run(groupId, id);
    }
    db.exec("COMMIT");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");

    const copy = db.prepare(
      `INSERT INTO assignments SELECT user_id, ? FROM group_members WHERE group_id = ? AND user_id > ? ORDER BY user_id LIMIT ${chunk}`,
    );
    const last = db.prepare("SELECT max(user_id) AS id FROM assignments WHERE user_id > ?");
    const timedCopy = () => {
      let cursor = "";
      let written = 0;
      let chunks = 0;
      const t0 = process.hrtime.bigint();
      for (;;) {
        db.exec("BEGIN IMMEDIATE");
        const { changes } = copy.run(skuId, groupId, cursor);
        const next = changes > 0 ? last.get(cursor).id : null;
        db.exec("COMMIT");
        chunks++;
        written += Number(changes);
        if (!next || changes < chunk) break;
        cursor = next;
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const count = db.prepare("SELECT count(*) AS n FROM assignments").get().n;
      if (count !== users || written !== users)
        throw new Error(`floor wrote ${count} rows (${written}), expected ${users}`);
      return { seconds, chunks };
    };
    // One copy is mostly a hundred commits, each waiting on the disk: on a shared machine a single copy ranged
    // from 0.20 to 0.36 s between runs while the jobs measured against it moved by a few percent. The floor is the
    // median of several copies, each into an emptied table.
    const runs = [];
    for (let i = 0; i < repeats; i++) {
      if (i > 0) {
        db.exec("DELETE FROM assignments");
        db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      }
      runs.push(timedCopy());
    }
    const sorted = runs.map((r) => r.seconds).sort((a, b) => a - b);
    const seconds = sorted[Math.floor(sorted.length / 2)];
    const count = users;
    const chunks = runs[0].chunks;
    return { seconds, runs: sorted, rows: count, chunks, chunkRows: chunk, pragmas, engine: floorEngineNote };
  } finally {
    db.close();
  }
}
