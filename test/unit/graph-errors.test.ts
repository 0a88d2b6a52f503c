// The Graph renderer's fallback: database limits a client's input can reach are its 400, anything else stays a 500.
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { databaseLimitError, installGraphErrors } from "../../functions/core/graph-errors.ts";

const db = (env as unknown as { DB: D1Database }).DB;
const ones = (n: number) => Array.from({ length: n }, () => 1);

/** A statement per class of limit, each failing on D1 with that limit's own error. */
const limits: Record<string, () => Promise<unknown>> = {
  "too many SQL variables": () =>
    db
      .prepare(`SELECT 1 WHERE 1 IN (${Array(101).fill("?").join(",")})`)
      .bind(...ones(101))
      .first(),
  "variable number": () =>
    db
      .prepare("SELECT ?101")
      .bind(...ones(101))
      .first(),
  "Expression tree is too large": () => db.prepare(`SELECT 1 WHERE ${"1 = 1 AND ".repeat(120)}1`).first(),
  "LIKE or GLOB pattern too complex": () => db.prepare("SELECT 'x' LIKE ?").bind("a".repeat(60)).first(),
  "statement too long": () => db.prepare(`SELECT '${"a".repeat(110_000)}'`).first(),
  "string or blob too big": () => db.prepare("SELECT zeroblob(2000000000)").first(),
  "too many terms in compound SELECT": () => db.prepare(Array(600).fill("SELECT 1").join(" UNION ALL ")).first(),
  "too many arguments on function": () => db.prepare(`SELECT max(${ones(1100).join(",")})`).first(),
};

const app = installGraphErrors(
  new Hono()
    .get("/limit/:name", async (c) => {
      await limits[c.req.param("name")]!();
      return c.text("unreachable");
    })
    .get("/broken", async (c) => {
      await db.prepare("SELECT * FROM no_such_table").first();
      return c.text("unreachable");
    }),
);

describe("database limits in Graph's renderer", () => {
  it.each(Object.keys(limits))("%s: the real D1 error renders as Graph's 400, logged as a warning", async (name) => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const res = await app.request(`/limit/${encodeURIComponent(name)}`);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status).toBe(400);
      expect(body.error.code).toBe("Request_BadRequest");
      expect(body.error.message).toMatch(/^The request is too complex to run: .+\.$/);
      // The client's answer names no database internals; the log keeps them.
      expect(body.error.message).not.toMatch(/SQL|D1|LIKE|blob/i);
      expect(warn).toHaveBeenCalledOnce();
      // The log names the very limit this statement reaches, so each class is shown produced on real D1.
      const logged = JSON.parse(String(warn.mock.calls[0]![0])) as { error: string };
      expect(logged.error.toLowerCase()).toContain(name.toLowerCase());
    } finally {
      warn.mockRestore();
    }
  });

  it("any other database error is still a 500 that shows only the request id", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const res = await app.request("/broken");
      expect(res.status).toBe(500);
      expect(JSON.stringify(await res.json())).not.toContain("no_such_table");
      expect(error).toHaveBeenCalledOnce();
    } finally {
      error.mockRestore();
    }
  });

  it("classifies by the error's words, also when D1 wraps them in a cause", () => {
    expect(
      databaseLimitError(new Error("D1_ERROR: too many SQL variables at offset 221: SQLITE_ERROR")),
    ).not.toBeNull();
    expect(
      databaseLimitError(
        new Error("D1_ERROR", { cause: new Error("Expression tree is too large (maximum depth 100)") }),
      ),
    ).not.toBeNull();
    expect(databaseLimitError(new Error("D1_ERROR: UNIQUE constraint failed: users.id"))).toBeNull();
    expect(databaseLimitError("not an error")).toBeNull();
  });
});
