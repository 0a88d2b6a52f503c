// The baselines for `npm run bench`, served by the same wrangler/workerd as seatflow: the smallest Hono app,
// (POST /seat/*) the smallest seat-checked D1 write: the prototype's two-statement batch, guarded by a condition, and
// (GET /row/:key) the smallest D1 read: one row by its key from a small seeded table, one statement.
import { Hono } from "hono";

type Env = { DB: D1Database };
const app = new Hono<{ Bindings: Env }>();
let ready: Promise<unknown> | undefined;
/** Rows of the read reference's table, keyed k0 … k{ITEMS-1} (bench/rest.mjs reads them round-robin). */
const ITEMS = 200;

const schema = (db: D1Database) =>
  db.batch([
    db.prepare(
      "CREATE TABLE IF NOT EXISTS pool (id INTEGER PRIMARY KEY, seats INTEGER NOT NULL, consumed INTEGER NOT NULL)",
    ),
    db.prepare("INSERT OR IGNORE INTO pool (id, seats, consumed) VALUES (1, 1000000000, 0)"),
    db.prepare("CREATE TABLE IF NOT EXISTS assignment (user TEXT PRIMARY KEY)"),
    db.prepare(
      "CREATE TABLE IF NOT EXISTS item (key TEXT PRIMARY KEY, name TEXT NOT NULL, department TEXT NOT NULL, version INTEGER NOT NULL)",
    ),
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${ITEMS - 1})
       INSERT OR IGNORE INTO item (key, name, department, version) SELECT 'k' || i, 'Item ' || i, 'Sales', 0 FROM n`,
    ),
  ]);

app.post("/seat/take/:user", async (c) => {
  ready ??= schema(c.env.DB);
  await ready;
  const user = c.req.param("user");
  await c.env.DB.batch([
    c.env.DB.prepare("UPDATE pool SET consumed = consumed + 1 WHERE id = 1 AND consumed < seats"),
    c.env.DB.prepare("INSERT OR IGNORE INTO assignment (user) SELECT ?1 WHERE changes() = 1").bind(user),
  ]);
  return c.json({ ok: true });
});
app.post("/seat/release/:user", async (c) => {
  ready ??= schema(c.env.DB);
  await ready;
  const user = c.req.param("user");
  await c.env.DB.batch([
    c.env.DB.prepare("DELETE FROM assignment WHERE user = ?1").bind(user),
    c.env.DB.prepare("UPDATE pool SET consumed = consumed - 1 WHERE id = 1 AND changes() = 1"),
  ]);
  return c.json({ ok: true });
});
app.get("/row/:key", async (c) => {
  ready ??= schema(c.env.DB);
  await ready;
  const row = await c.env.DB.prepare("SELECT key, name, department, version FROM item WHERE key = ?1")
    .bind(c.req.param("key"))
    .first();
  return row ? c.json(row) : c.json({ error: "no such row" }, 404);
});
app.get("*", (c) => c.json({ ok: true, service: "bare" }));
app.post("*", (c) => c.json({ ok: true, service: "bare" }));

export default app;
