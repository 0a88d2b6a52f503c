// The baselines for `npm run bench`, served by the same wrangler/workerd as seatflow: the smallest Hono app, and
// (POST /seat/*) the smallest seat-checked D1 write: the prototype's two-statement batch, guarded by a condition.
import { Hono } from "hono";

type Env = { DB: D1Database };
const app = new Hono<{ Bindings: Env }>();
let ready: Promise<unknown> | undefined;

const schema = (db: D1Database) =>
  db.batch([
    db.prepare(
      "CREATE TABLE IF NOT EXISTS pool (id INTEGER PRIMARY KEY, seats INTEGER NOT NULL, consumed INTEGER NOT NULL)",
    ),
    db.prepare("INSERT OR IGNORE INTO pool (id, seats, consumed) VALUES (1, 1000000000, 0)"),
    db.prepare("CREATE TABLE IF NOT EXISTS assignment (user TEXT PRIMARY KEY)"),
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
app.get("*", (c) => c.json({ ok: true, service: "bare" }));
app.post("*", (c) => c.json({ ok: true, service: "bare" }));

export default app;
