// The baseline for `npm run bench`: the smallest Hono app, served by the same wrangler/workerd as seatflow.
import { Hono } from "hono";

const app = new Hono();
app.get("*", (c) => c.json({ ok: true, service: "bare" }));
app.post("*", (c) => c.json({ ok: true, service: "bare" }));

export default app;
