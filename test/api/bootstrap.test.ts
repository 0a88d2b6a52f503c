import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/app.ts";
import { bootstrapActor, makeCtx } from "../../functions/core/context.ts";
import { INVALID_COUNTRY } from "../../functions/core/countries.ts";
import { isGuardFailure } from "../../functions/core/sql.ts";
import { ALREADY_BOOTSTRAPPED, createTenant } from "../../functions/lifecycle/tenants.ts";
import { BASE, call, checkContract, newTenant } from "../helpers/api.ts";

// A fresh installation: its own empty database (the shared test DB already holds operator tenants), with the secret
// set as `wrangler secret put SEATFLOW_BOOTSTRAP_TOKEN` would set it. Requests go through the Worker's app with those
// bindings; the tests run in order and share the installation they bootstrap.
const TOKEN = "bootstrap-token-for-tests-0123456789abcdef";
const fresh = { ...env, DB: env.BOOTSTRAP_DB, SEATFLOW_BOOTSTRAP_TOKEN: TOKEN };
const executionCtx = {
  waitUntil: () => {},
  passThroughOnException: () => {},
  props: {},
} as unknown as ExecutionContext;

async function send(bindings: object, method: string, path: string, body?: unknown, authorization?: string) {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await app.fetch(
    new Request(`${BASE}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }),
    bindings,
    executionCtx,
  );
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  checkContract(method, path, response.status, parsed);
  return { status: response.status, body: parsed, headers: response.headers };
}

const OPS = { displayName: "Northwind Operations", country: "se", domains: ["northwind.example"] };
const tenantsIn = async (db: D1Database) =>
  (await db.prepare("SELECT count(*) AS n, coalesce(sum(is_operator), 0) AS operators FROM tenants").first<{
    n: number;
    operators: number;
  }>())!;

beforeAll(async () => {
  await applyD1Migrations(env.BOOTSTRAP_DB, env.TEST_MIGRATIONS);
});

describe("POST /api/bootstrap without SEATFLOW_BOOTSTRAP_TOKEN", () => {
  it("does not exist (Graph's 404), even for an operator tenant's GlobalAdministrator", async () => {
    const operator = await newTenant("US", "Ops", { operator: true });
    for (const key of [null, operator.keys.GlobalAdministrator]) {
      const res = await call(key, "POST", "/api/bootstrap", OPS);
      expect({ status: res.status, code: res.body.error.code, message: res.body.error.message }).toEqual({
        status: 404,
        code: "Request_ResourceNotFound",
        message: "Resource not found for the segment 'bootstrap'.",
      });
    }
    // An empty secret is no secret.
    const empty = await send(
      { ...fresh, SEATFLOW_BOOTSTRAP_TOKEN: "" },
      "POST",
      "/api/bootstrap",
      OPS,
      `Bearer ${TOKEN}`,
    );
    expect(empty.status).toBe(404);
    expect(await tenantsIn(env.BOOTSTRAP_DB)).toEqual({ n: 0, operators: 0 });
  });

  it("is documented in /openapi.json with its own security scheme", async () => {
    const doc = (await call(null, "GET", "/openapi.json")).body;
    const operation = doc.paths["/api/bootstrap"].post;
    expect(operation.operationId).toBe("bootstrapInstallation");
    expect(operation.security).toEqual([{ bootstrapToken: [] }]);
    expect(doc.components.securitySchemes.bootstrapToken).toMatchObject({ type: "http", scheme: "bearer" });
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["201", "401", "403", "404", "415"]));
  });
});

describe("POST /api/bootstrap with SEATFLOW_BOOTSTRAP_TOKEN set", () => {
  it("refuses a missing or wrong token, and an API key, with 401 and creates nothing", async () => {
    const missing = await send(fresh, "POST", "/api/bootstrap", OPS);
    expect({ status: missing.status, code: missing.body.error.code, message: missing.body.error.message }).toEqual({
      status: 401,
      code: "InvalidAuthenticationToken",
      message: "Access token is empty.",
    });
    const someKey = await newTenant("US", "Other", { operator: true });
    for (const wrong of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${someKey.keys.GlobalAdministrator}`,
    ]) {
      const res = await send(fresh, "POST", "/api/bootstrap", OPS, wrong);
      expect({ status: res.status, code: res.body.error.code, message: res.body.error.message }).toEqual({
        status: 401,
        code: "InvalidAuthenticationToken",
        message: "The bootstrap token does not match SEATFLOW_BOOTSTRAP_TOKEN.",
      });
    }
    const basic = await send(fresh, "POST", "/api/bootstrap", OPS, `Basic ${TOKEN}`);
    expect(basic.status).toBe(401);
    expect(await tenantsIn(env.BOOTSTRAP_DB)).toEqual({ n: 0, operators: 0 });
  });

  it("validates the body like a tenant's creation, creating nothing", async () => {
    const country = await send(fresh, "POST", "/api/bootstrap", { ...OPS, country: "ZZ" }, `Bearer ${TOKEN}`);
    expect({ status: country.status, message: country.body.error.message }).toEqual({
      status: 400,
      message: INVALID_COUNTRY,
    });
    const extra = await send(fresh, "POST", "/api/bootstrap", { ...OPS, operator: false }, `Bearer ${TOKEN}`);
    expect(extra.status).toBe(400);
    const seats = await send(
      fresh,
      "POST",
      "/api/bootstrap",
      { ...OPS, selfServiceSubscriptions: true },
      `Bearer ${TOKEN}`,
    );
    expect(seats.status).toBe(400);
    expect(await tenantsIn(env.BOOTSTRAP_DB)).toEqual({ n: 0, operators: 0 });
  });

  let adminKey = "";
  let operatorId = "";

  it("of five concurrent bootstraps, exactly one creates the operator tenant; the others are refused", async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        send(fresh, "POST", "/api/bootstrap", { ...OPS, displayName: `Ops ${i}`, domains: [] }, `Bearer ${TOKEN}`),
      ),
    );
    const won = answers.filter((a) => a.status === 201);
    expect(won).toHaveLength(1);
    for (const lost of answers.filter((a) => a.status !== 201)) {
      expect({ status: lost.status, code: lost.body.error.code, message: lost.body.error.message }).toEqual({
        status: 403,
        code: "Authorization_RequestDenied",
        message: ALREADY_BOOTSTRAPPED,
      });
    }
    const created = won[0]!.body;
    expect(created).toMatchObject({ isOperator: true, country: "SE", selfServiceSubscriptions: false });
    expect(created.adminKey).toMatch(/^sf_/);
    adminKey = created.adminKey;
    operatorId = created.id;
    expect(await tenantsIn(env.BOOTSTRAP_DB)).toEqual({ n: 1, operators: 1 });
    const keys = await env.BOOTSTRAP_DB.prepare("SELECT tenant_id AS tenantId, role FROM api_keys").all();
    expect(keys.results).toEqual([{ tenantId: operatorId, role: "GlobalAdministrator" }]);
  });

  it("hands out a key that runs the installation: the operator's organization, tenants, its audit", async () => {
    const org = await send(fresh, "GET", "/v1.0/organization", undefined, `Bearer ${adminKey}`);
    expect(org.status).toBe(200);
    expect(org.body.value[0]).toMatchObject({ id: operatorId });
    const tenant = await send(
      fresh,
      "POST",
      "/api/tenants",
      { displayName: "Fabrikam", country: "GB" },
      `Bearer ${adminKey}`,
    );
    expect(tenant.status).toBe(201);
    expect(tenant.body.isOperator).toBe(false);
    const audits = await send(fresh, "GET", "/v1.0/auditLogs/directoryAudits", undefined, `Bearer ${adminKey}`);
    const added = audits.body.value.find(
      (a: any) => a.activityDisplayName === "Add tenant" && a.targetResources[0].id === operatorId,
    );
    expect(JSON.stringify(added.initiatedBy)).toContain(bootstrapActor.name);
  });

  it("is refused ever after, with the right token too, and changes nothing", async () => {
    const again = await send(
      fresh,
      "POST",
      "/api/bootstrap",
      { ...OPS, domains: ["again.example"] },
      `Bearer ${TOKEN}`,
    );
    expect({ status: again.status, code: again.body.error.code, message: again.body.error.message }).toEqual({
      status: 403,
      code: "Authorization_RequestDenied",
      message: ALREADY_BOOTSTRAPPED,
    });
    expect(await tenantsIn(env.BOOTSTRAP_DB)).toEqual({ n: 2, operators: 1 });
    // An API key can never bootstrap, whoever holds it.
    const withKey = await send(fresh, "POST", "/api/bootstrap", OPS, `Bearer ${adminKey}`);
    expect(withKey.status).toBe(401);
  });

  it("guards its batch, not only its first read: a write racing past the read aborts whole", async () => {
    // What the losers of a race meet once they are past the check for an operator tenant.
    const ctx = makeCtx(fresh as Env, "", bootstrapActor);
    const attempt = createTenant({
      ctx,
      input: { displayName: "Late", country: "US", operator: true, withAdminKey: true, onlyIfNoOperator: true },
    });
    const error = await attempt.then(
      () => null,
      (e: unknown) => e,
    );
    expect(isGuardFailure(error)).toBe(true);
    expect(await tenantsIn(env.BOOTSTRAP_DB)).toEqual({ n: 2, operators: 1 });
  });
});
