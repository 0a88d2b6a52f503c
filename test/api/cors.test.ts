import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/app.ts";
import { BASE, call, newTenant, type TestTenant } from "../helpers/api.ts";

// SEATFLOW_CORS_ORIGINS is empty in wrangler.toml (CORS off); the allow-list cases run the Worker's app with the var
// overridden, as a deployment (or `wrangler dev --var`) with another value would.

let t: TestTenant;

beforeAll(async () => {
  t = await newTenant();
});

describe("CORS", () => {
  const ORIGIN = "http://localhost:3000";

  /** The Worker's app with bindings overridden, as a deployment with other [vars] would run it. */
  const fetchWith = async (vars: Partial<Env>, path: string, init: RequestInit = {}) =>
    app.fetch(new Request(`${BASE}${path}`, init), { ...env, ...vars }, {
      waitUntil: () => {},
      passThroughOnException: () => {},
      props: {},
    } as unknown as ExecutionContext);

  const corsHeaders = (res: Response) =>
    [...res.headers.keys()].filter((name) => name.toLowerCase().startsWith("access-control-"));

  const preflight = (origin: string, method = "POST") => ({
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": method,
      "access-control-request-headers": "authorization,content-type,consistencylevel,client-request-id",
    },
  });

  it("is off by default: no CORS header at all, on a preflight or on an answer", async () => {
    expect(env.SEATFLOW_CORS_ORIGINS).toBe("");
    const pre = await exports.default.fetch(new Request(`${BASE}/v1.0/users`, preflight(ORIGIN)));
    expect(corsHeaders(pre)).toEqual([]);
    // The preflight is just an unauthenticated request then.
    expect(pre.status).toBe(401);
    const get = await call(t.keys.GlobalReader, "GET", "/v1.0/organization", undefined, { origin: ORIGIN });
    expect(get.status).toBe(200);
    expect(corsHeaders(new Response(null, { headers: get.headers }))).toEqual([]);
  });

  it("answers an allowed origin's preflight with the methods and the headers Graph clients send", async () => {
    const vars = { SEATFLOW_CORS_ORIGINS: `${ORIGIN}, https://tools.example/` };
    const res = await fetchWith(vars, "/v1.0/users", preflight(ORIGIN));
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(res.headers.get("access-control-allow-methods")).toBe("GET,HEAD,POST,PATCH,DELETE");
    const allowed = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(",");
    for (const header of ["authorization", "content-type", "consistencylevel", "client-request-id", "prefer"]) {
      expect(allowed).toContain(header);
    }
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("vary")).toContain("Origin");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    // A list entry written with a trailing slash still names the origin.
    const second = await fetchWith(vars, "/api/subscriptions", preflight("https://tools.example", "PATCH"));
    expect(second.status).toBe(204);
    expect(second.headers.get("access-control-allow-origin")).toBe("https://tools.example");
  });

  it("adds the headers to an allowed origin's answers, errors included, and exposes request-id, Retry-After, Location", async () => {
    const vars = { SEATFLOW_CORS_ORIGINS: ORIGIN };
    const ok = await fetchWith(vars, "/v1.0/organization", {
      headers: { origin: ORIGIN, authorization: `Bearer ${t.keys.GlobalReader}` },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const exposed = (ok.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(",");
    for (const header of ["request-id", "client-request-id", "retry-after", "location"]) {
      expect(exposed).toContain(header);
    }
    expect(ok.headers.get("vary")).toContain("Origin");
    // A page must be able to read why it was refused.
    const refused = await fetchWith(vars, "/v1.0/organization", { headers: { origin: ORIGIN } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("InvalidAuthenticationToken");
    // The OpenAPI document is readable by browser tools too.
    const doc = await fetchWith(vars, "/openapi.json", { headers: { origin: ORIGIN } });
    expect(doc.status).toBe(200);
    expect(doc.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  });

  it("gives another origin nothing: no CORS headers on its preflight or its answers", async () => {
    const vars = { SEATFLOW_CORS_ORIGINS: ORIGIN };
    const pre = await fetchWith(vars, "/v1.0/users", preflight("http://evil.example"));
    expect(corsHeaders(pre)).toEqual([]);
    expect(pre.status).toBe(401);
    const get = await fetchWith(vars, "/v1.0/organization", {
      headers: { origin: "http://localhost:3001", authorization: `Bearer ${t.keys.GlobalReader}` },
    });
    expect(get.status).toBe(200);
    expect(corsHeaders(get)).toEqual([]);
  });

  it("allows any origin with *", async () => {
    const res = await fetchWith({ SEATFLOW_CORS_ORIGINS: "*" }, "/v1.0/users", preflight("http://anything.example"));
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://anything.example");
  });
});
