import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/app.ts";
import { type Role, roles } from "../../functions/core/context.ts";
import { routeAccess } from "../../functions/core/openapi.ts";
import { type ApiResponse, assign, BASE, buy, call, newTenant, newUser, SKU, type TestTenant } from "../helpers/api.ts";
import { catalogCsv } from "../helpers/catalog.ts";

// ---------------------------------------------------------------------------------------------------------------
// Every route the app exposes, read from the app itself (the OpenAPI registry every route is declared in).
// ---------------------------------------------------------------------------------------------------------------

type AppRoute = { method: string; path: string; roles: Role[]; operator: boolean; key: string };

// Who may call a route is data recorded by defineRoute (routeAccess), not text to read back.
const declaredRoutes = app.openAPIRegistry.definitions.flatMap((d) => {
  if (d.type !== "route") return [];
  const method = d.route.method.toUpperCase();
  const key = `${method} ${d.route.path}`;
  const access = routeAccess.get(key);
  return [
    {
      method,
      path: d.route.path,
      roles: [...(access?.roles ?? [])],
      operator: access?.operator ?? false,
      key,
      credential: access?.credential,
    },
  ];
});

// The API-key matrix below covers every route an API key opens. A route with a credential of its own (the bootstrap
// token) takes no key at all: it is checked here against every key, and in test/api/bootstrap.test.ts.
const appRoutes: AppRoute[] = declaredRoutes.filter((r) => !r.credential);
const credentialRoutes = declaredRoutes.filter((r) => r.credential);

/** The kinds of object a path parameter can name; each is built for real in two tenants. */
type Kind =
  | "user"
  | "group"
  | "subscription"
  | "subscribedSku"
  | "planRule"
  | "key"
  | "domain"
  | "tenant"
  | "label"
  | "ledger"
  | "deletedUser";

type World = { home: TestTenant; other: TestTenant; homeIds: Record<Kind, string>; otherIds: Record<Kind, string> };

/**
 * What a request to a route needs: which kind of object each path parameter names, and a valid body (so nothing
 * masks the answer). The body may refer to the same tenant's objects.
 */
type Case = {
  params?: Record<string, Kind>;
  body?: (ids: Record<Kind, string>) => unknown;
  contentType?: string;
  /** Headers the route needs to answer 200 (ConsistencyLevel for a raw count). */
  headers?: Record<string, string>;
};

const ASSIGN_E3 = { addLicenses: [{ skuId: SKU.E3, disabledPlans: [] }], removeLicenses: [] };
const memberRef = (userId: string) => ({ "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${userId}` });
let groupCount = 0;
const groupBody = () => ({
  displayName: `Sec group ${++groupCount}`,
  mailEnabled: false,
  mailNickname: `secgroup${groupCount}x${Math.random().toString(36).slice(2, 8)}`,
  securityEnabled: true,
});
const ID = { id: "user" } as const;
const GROUP = { id: "group" } as const;

let nick = 0;
const userBody = (domain: string) => {
  const name = `sec${++nick}x${Math.random().toString(36).slice(2, 8)}`;
  return {
    accountEnabled: true,
    displayName: name,
    mailNickname: name,
    userPrincipalName: `${name}@${domain}`,
    usageLocation: "US",
  };
};
const smallCsv = () => catalogCsv.split(/\r?\n/).slice(0, 3).join("\r\n");

const cases: Record<string, Case> = {
  "GET /v1.0/users": {},
  "GET /v1.0/users/$count": { headers: { ConsistencyLevel: "eventual" } },
  "GET /v1.0/users/{id}": { params: ID },
  "POST /v1.0/users": { body: (ids) => userBody(ids.domain) },
  "PATCH /v1.0/users/{id}": { params: ID, body: () => ({ jobTitle: "Changed by an intruder" }) },
  "DELETE /v1.0/users/{id}": { params: ID },
  "POST /v1.0/users/{id}/assignLicense": { params: ID, body: () => ASSIGN_E3 },
  "POST /v1.0/users/{id}/reprocessLicenseAssignment": { params: ID },
  "GET /v1.0/users/{id}/licenseDetails": { params: ID },
  "GET /v1.0/users/{id}/memberOf": { params: ID },
  "GET /v1.0/groups": {},
  "GET /v1.0/groups/$count": { headers: { ConsistencyLevel: "eventual" } },
  "GET /v1.0/groups/{id}": { params: GROUP },
  "POST /v1.0/groups": { body: groupBody },
  "PATCH /v1.0/groups/{id}": { params: GROUP, body: () => ({ description: "Changed by an intruder" }) },
  "DELETE /v1.0/groups/{id}": { params: GROUP },
  "GET /v1.0/groups/{id}/members": { params: GROUP },
  "POST /v1.0/groups/{id}/members/$ref": { params: GROUP, body: (ids) => memberRef(ids.user) },
  "DELETE /v1.0/groups/{id}/members/{userId}/$ref": { params: { id: "group", userId: "user" } },
  "POST /v1.0/groups/{id}/assignLicense": { params: GROUP, body: () => ASSIGN_E3 },
  "GET /v1.0/groups/{id}/membersWithLicenseErrors": { params: GROUP },
  "POST /api/groups/{id}/reprocess": { params: GROUP },
  "GET /v1.0/subscribedSkus": {},
  "GET /v1.0/subscribedSkus/{id}": { params: { id: "subscribedSku" } },
  "GET /v1.0/directory/subscriptions": {},
  "GET /v1.0/directory/subscriptions/{id}": { params: { id: "subscription" } },
  "GET /api/subscriptions": {},
  "GET /api/subscriptions/{id}": { params: { id: "subscription" } },
  "POST /api/subscriptions": { body: () => ({ skuId: SKU.EMS, totalLicenses: 1 }) },
  "PATCH /api/subscriptions/{id}": { params: { id: "subscription" }, body: () => ({ totalLicenses: 99 }) },
  "POST /api/subscriptions/{id}/takeOver": { params: { id: "subscription" } },
  "POST /api/catalog/import": { body: smallCsv, contentType: "text/csv" },
  "GET /api/plan-rules": {},
  "POST /api/plan-rules": {
    body: () => ({
      kind: "prohibited_location",
      servicePlanId: "a23b959c-7ce8-4e57-9140-b90eb88a9e97",
      usageLocation: "KP",
    }),
  },
  "DELETE /api/plan-rules/{id}": { params: { id: "planRule" } },
  "GET /v1.0/auditLogs/directoryAudits": {},
  "GET /v1.0/organization": {},
  "POST /api/tenants": { body: () => ({ displayName: "Intruder Inc", country: "de" }) },
  "GET /api/keys": {},
  "POST /api/keys": { body: () => ({ role: "GlobalAdministrator" }) },
  "DELETE /api/keys/{id}": { params: { id: "key" } },
  "GET /v1.0/domains": {},
  "GET /v1.0/domains/{id}": { params: { id: "domain" } },
  "POST /api/domains": { body: () => ({ id: `sec${Math.random().toString(36).slice(2, 10)}.example` }) },
  "DELETE /api/domains/{id}": { params: { id: "domain" } },
  "GET /api/settings": {},
  "GET /api/reports/overallocation": {},
  "POST /api/tenants/{tenantId}/subscriptions": {
    params: { tenantId: "tenant" },
    body: () => ({ skuId: SKU.EMS, totalLicenses: 1 }),
  },
  "PATCH /api/tenants/{tenantId}/subscriptions/{id}": {
    params: { tenantId: "tenant", id: "subscription" },
    body: () => ({ totalLicenses: 7 }),
  },
  "PATCH /api/settings": { body: () => ({ allowGuestsInLicensedGroups: false }) },
  "PATCH /api/tenants/{id}": { params: { id: "tenant" }, body: () => ({ selfServiceSubscriptions: true }) },
  "POST /v1.0/$batch": { body: () => ({ requests: [{ id: "1", method: "GET", url: "/organization" }] }) },
  "GET /api/mailboxes": {},
  "GET /api/mailboxes/{id}": { params: ID },
  "PATCH /api/mailboxes/{id}": { params: ID, body: () => ({ litigationHold: false }) },
  "GET /api/mailboxes/{id}/items": { params: ID },
  "POST /api/mailboxes/{id}/items": { params: ID, body: () => ({ items: [{ subject: "Intruder", sizeBytes: 10 }] }) },
  "POST /api/mailboxes/{id}/items/applyLabel": {
    params: ID,
    body: () => ({ retentionLabelId: null, itemIds: ["1"] }),
  },
  "GET /api/retention-labels": {},
  "GET /api/retention-labels/{id}": { params: { id: "label" } },
  "POST /api/retention-labels": {
    body: () => ({ displayName: `Sec ${Math.random().toString(36).slice(2, 8)}`, retentionDays: 10 }),
  },
  "DELETE /api/retention-labels/{id}": { params: { id: "label" } },
  "GET /api/onedrive/{id}": { params: ID },
  "GET /api/retention/settings": {},
  "PATCH /api/retention/settings": { body: () => ({ oneDriveRetentionDays: 30 }) },
  "GET /api/retention/preview": {},
  "GET /api/retention/ledger": {},
  "GET /api/retention/ledger/{id}": { params: { id: "ledger" } },
  "POST /api/retention/run": { body: () => ({ dryRun: true }) },
  "POST /api/licensing/preview": {
    body: (ids) => ({ change: "userAssignLicense", userId: ids.user, addLicenses: [], removeLicenses: [SKU.E3] }),
  },
  "GET /v1.0/directory/deletedItems/microsoft.graph.user": {},
  "GET /v1.0/directory/deletedItems/{id}": { params: { id: "deletedUser" } },
  "POST /v1.0/directory/deletedItems/{id}/restore": { params: { id: "deletedUser" } },
  "DELETE /v1.0/directory/deletedItems/{id}": { params: { id: "deletedUser" } },
};

function request(world: World, route: AppRoute, key: string | null, tenant: "home" | "other", extra = {}) {
  const c = cases[route.key] ?? {};
  const ids = tenant === "home" ? world.homeIds : world.otherIds;
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const kind = c.params?.[name];
    return kind ? encodeURIComponent(ids[kind]) : "unknown";
  });
  const body = c.body?.(ids);
  const headers: Record<string, string> = { ...c.headers, ...extra };
  if (c.contentType) headers["content-type"] = c.contentType;
  return call(key, route.method, path, body, headers);
}

function expectGraphError(res: ApiResponse, status: number, code: string) {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  const { error } = res.body;
  expect(typeof error.message).toBe("string");
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.innerError.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(error.innerError["request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  expect(error.innerError["request-id"]).toBe(res.headers.get("request-id"));
  expect(typeof error.innerError["client-request-id"]).toBe("string");
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
}

const world = {} as World;

beforeAll(async () => {
  // Home is the operator tenant, so its GlobalAdministrator may use the installation-wide routes too.
  const [home, other] = await Promise.all([newTenant("US", "Home", { operator: true }), newTenant("US", "Other")]);
  const build = async (t: TestTenant) => {
    const sub = await buy(t.admin, SKU.E3, 5);
    const user = await newUser(t.admin);
    expect((await assign(t.admin, user, [{ skuId: SKU.E3 }])).status).toBe(200);
    const rule = await t.admin.post("/api/plan-rules", {
      kind: "prohibited_location",
      servicePlanId: "a23b959c-7ce8-4e57-9140-b90eb88a9e97",
      usageLocation: "IR",
    });
    expect(rule.status).toBe(201);
    const key = await t.admin.post("/api/keys", { role: "GlobalReader", name: "spare" });
    expect(key.status).toBe(201);
    const group = await t.admin.post("/v1.0/groups", groupBody());
    expect(group.status).toBe(201);
    expect((await t.admin.post(`/v1.0/groups/${group.body.id}/members/$ref`, memberRef(user))).status).toBe(204);
    // E3 gives the user a mailbox (Exchange Online Plan 2) and a OneDrive; one item to label.
    expect(
      (await t.admin.post(`/api/mailboxes/${user}/items`, { items: [{ subject: "Hi", sizeBytes: 5 }] })).status,
    ).toBe(201);
    const label = await t.admin.post("/api/retention-labels", { displayName: "Keep", retentionDays: 30 });
    expect(label.status).toBe(201);
    const run = await t.admin.post("/api/retention/run", { dryRun: true });
    expect(run.status).toBe(202);
    const leaver = await newUser(t.admin);
    expect((await t.admin.delete(`/v1.0/users/${leaver}`)).status).toBe(204);
    return {
      user,
      group: group.body.id as string,
      subscription: sub.id,
      subscribedSku: `${t.id}_${SKU.E3}`,
      planRule: rule.body.id as string,
      key: key.body.id as string,
      domain: t.domain,
      tenant: t.id,
      label: label.body.id as string,
      ledger: run.body.id as string,
      deletedUser: leaver,
    };
  };
  world.home = home;
  world.other = other;
  world.homeIds = await build(home);
  world.otherIds = await build(other);
});

describe("route table", () => {
  it("reads a non-trivial route list from the app, each route declaring known roles", () => {
    expect(appRoutes.length).toBeGreaterThanOrEqual(28);
    for (const route of appRoutes) {
      expect({ route: route.key, roles: route.roles.length > 0 }).toEqual({ route: route.key, roles: true });
      for (const role of route.roles) expect(roles, route.key).toContain(role);
    }
  });

  it("has a case for every route and a real object for every path parameter", () => {
    const missing = appRoutes.filter((r) => !cases[r.key]).map((r) => r.key);
    expect(missing, "routes without a security case: add them to `cases`").toEqual([]);
    const unresolvable = appRoutes
      .filter((r) => [...r.path.matchAll(/\{(\w+)\}/g)].some((m) => !cases[r.key]?.params?.[m[1]!]))
      .map((r) => r.key);
    expect(unresolvable).toEqual([]);
    const stale = Object.keys(cases).filter((k) => !appRoutes.some((r) => r.key === k));
    expect(stale, "cases for routes the app no longer exposes").toEqual([]);
  });
});

describe("routes with a credential of their own", () => {
  it("are the bootstrap only, and no API key of any role opens it (without the secret it does not exist)", async () => {
    expect(credentialRoutes.map((r) => `${r.key} ${r.credential}`)).toEqual(["POST /api/bootstrap bootstrapToken"]);
    const answers = [];
    for (const role of roles) {
      const res = await call(world.home.keys[role], "POST", "/api/bootstrap", {
        displayName: "Intruder",
        country: "US",
      });
      answers.push({ role, status: res.status, code: res.body?.error?.code });
    }
    expect(answers).toEqual(roles.map((role) => ({ role, status: 404, code: "Request_ResourceNotFound" })));
  });
});

describe.each(appRoutes.map((r) => [r.key, r] as const))("%s", (_name, route) => {
  it("refuses a request without Authorization (401 InvalidAuthenticationToken)", async () => {
    expectGraphError(await request(world, route, null, "home"), 401, "InvalidAuthenticationToken");
  });

  it("refuses a garbage or malformed key (401)", async () => {
    const garbage = await request(world, route, "sf_not-a-real-key-0000000000000000000000000", "home");
    expectGraphError(garbage, 401, "InvalidAuthenticationToken");
    const basic = await request(world, route, null, "home", {
      authorization: `Basic ${world.home.keys.GlobalAdministrator}`,
    });
    expectGraphError(basic, 401, "InvalidAuthenticationToken");
  });

  const denied = roles.filter((r) => !route.roles.includes(r));
  // A route every role may call has no 403 case.
  if (denied.length > 0)
    it(`refuses roles outside ${route.roles.join("/")} (403)`, async () => {
      const answers = [];
      for (const role of denied) {
        const res = await request(world, route, world.home.keys[role], "home");
        answers.push({ role, status: res.status, code: res.body?.error?.code });
        if (res.status === 403) expectGraphError(res, 403, "Authorization_RequestDenied");
      }
      expect(answers).toEqual(denied.map((role) => ({ role, status: 403, code: "Authorization_RequestDenied" })));
    });

  if (route.method === "GET")
    it("admits every role it declares (GET)", async () => {
      const answers = [];
      for (const role of route.roles) {
        const res = await request(world, route, world.home.keys[role], "home");
        answers.push({ role, status: res.status });
      }
      expect(answers).toEqual(route.roles.map((role) => ({ role, status: 200 })));
    });

  // Installation-wide routes act on any tenant by design (the operator's); every other route sees one tenant only.
  if (route.path.includes("{") && !route.operator)
    it("answers 404 for another tenant's object, even to an allowed key", async () => {
      const role = route.roles.includes("GlobalAdministrator") ? "GlobalAdministrator" : route.roles[0]!;
      const res = await request(world, route, world.home.keys[role], "other");
      expectGraphError(res, 404, "Request_ResourceNotFound");
    });
});

describe("cross-tenant isolation", () => {
  it("left every object of the other tenant untouched", async () => {
    const { other, otherIds } = world;
    const user = await other.admin.get(`/v1.0/users/${otherIds.user}?$select=jobTitle,assignedLicenses`);
    expect(user.status).toBe(200);
    expect(user.body.jobTitle).toBeNull();
    expect(user.body.assignedLicenses).toEqual([{ disabledPlans: [], skuId: SKU.E3 }]);
    const sub = await other.admin.get(`/api/subscriptions/${otherIds.subscription}`);
    expect(sub.body.totalLicenses).toBe(5);
    expect(sub.body.ownerType).toBe("Company");
    const rules = await other.admin.get("/api/plan-rules");
    expect(rules.body.value.map((r: { id: string }) => r.id)).toContain(otherIds.planRule);
    const keys = await other.admin.get("/api/keys");
    expect(keys.body.value.find((k: { id: string }) => k.id === otherIds.key).revokedAt).toBeNull();
    expect((await other.as("GlobalReader").get("/v1.0/organization")).status).toBe(200);
    const group = await other.admin.get(`/v1.0/groups/${otherIds.group}?$select=description,assignedLicenses`);
    expect(group.status).toBe(200);
    expect(group.body.description).toBeNull();
    expect(group.body.assignedLicenses).toEqual([]);
    const members = await other.admin.get(`/v1.0/groups/${otherIds.group}/members`);
    expect(members.body.value.map((m: { id: string }) => m.id)).toEqual([otherIds.user]);
  });

  it("cannot add another tenant's user to a group, by $ref or members@odata.bind", async () => {
    const { home, homeIds, otherIds } = world;
    const byRef = await home.admin.post(`/v1.0/groups/${homeIds.group}/members/$ref`, memberRef(otherIds.user));
    expect([400, 404]).toContain(byRef.status);
    const byPatch = await home.admin.patch(`/v1.0/groups/${homeIds.group}`, {
      "members@odata.bind": [`https://graph.microsoft.com/v1.0/users/${otherIds.user}`],
    });
    expect([400, 404]).toContain(byPatch.status);
    const created = await home.admin.post("/v1.0/groups", {
      ...groupBody(),
      "members@odata.bind": [`https://graph.microsoft.com/v1.0/directoryObjects/${otherIds.user}`],
    });
    expect([400, 404]).toContain(created.status);
    const members = await home.admin.get(`/v1.0/groups/${homeIds.group}/members`);
    expect(members.body.value.map((m: { id: string }) => m.id)).toEqual([homeIds.user]);
    const memberOf = await world.other.admin.get(`/v1.0/users/${otherIds.user}/memberOf`);
    expect(memberOf.body.value.map((g: { id: string }) => g.id)).toEqual([otherIds.group]);
  });

  it("does not find another tenant's user by userPrincipalName either", async () => {
    // The other tenant's user, in its own domain: home can't see it by its userPrincipalName either.
    const upn = userBody(world.other.domain).userPrincipalName;
    expect(
      (await world.other.admin.post("/v1.0/users", { ...userBody(world.other.domain), userPrincipalName: upn })).status,
    ).toBe(201);
    const res = await world.home.admin.get(`/v1.0/users/${encodeURIComponent(upn)}`);
    expectGraphError(res, 404, "Request_ResourceNotFound");
    const list = await world.home.admin.get("/v1.0/users?$select=userPrincipalName");
    expect(list.body.value.map((u: { userPrincipalName: string }) => u.userPrincipalName)).not.toContain(upn);
  });

  it("a $batch cannot lift a key's role: a GlobalReader's inner write is refused", async () => {
    const res = await world.home.as("GlobalReader").post("/v1.0/$batch", {
      requests: [
        { id: "1", method: "POST", url: "/users", body: userBody(world.home.domain) },
        { id: "2", method: "GET", url: "/organization" },
      ],
    });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.responses.map((r: { id: string }) => [r.id, r]));
    expect(byId["1"].status).toBe(403);
    expect(byId["1"].body.error.code).toBe("Authorization_RequestDenied");
    expect(byId["2"].status).toBe(200);
    expect(byId["2"].body.value[0].id).toBe(world.home.id);
  });

  it("a $batch cannot replace the caller's key with an inner Authorization header", async () => {
    const res = await call(world.home.keys.GlobalReader, "POST", "/v1.0/$batch", {
      requests: [
        {
          id: "1",
          method: "GET",
          url: "/organization",
          headers: { authorization: `Bearer ${world.other.keys.GlobalAdministrator}` },
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.responses[0].body.value[0].id).toBe(world.home.id);
  });
});

describe("error envelope and request ids", () => {
  it("echoes client-request-id on success and in error bodies, and gives every answer a fresh request-id", async () => {
    const ok = await world.home.admin.get("/v1.0/organization", { "client-request-id": "my-trace-42" });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("client-request-id")).toBe("my-trace-42");
    const bad = await call(null, "GET", "/v1.0/organization", undefined, { "client-request-id": "my-trace-43" });
    expectGraphError(bad, 401, "InvalidAuthenticationToken");
    expect(bad.headers.get("client-request-id")).toBe("my-trace-43");
    expect(bad.body.error.innerError["client-request-id"]).toBe("my-trace-43");
    expect(Object.keys(bad.body)).toEqual(["error"]);
    expect(Object.keys(bad.body.error.innerError).sort()).toEqual(["client-request-id", "date", "request-id"]);
    expect(ok.headers.get("request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(ok.headers.get("request-id")).not.toBe(bad.headers.get("request-id"));
  });

  it("without a client-request-id, the error body carries the request-id in its place", async () => {
    const res = await call(null, "GET", "/v1.0/users");
    expectGraphError(res, 401, "InvalidAuthenticationToken");
    expect(res.body.error.innerError["client-request-id"]).toBe(res.body.error.innerError["request-id"]);
  });

  it("answers an unknown path with the Graph 404 envelope", async () => {
    const open = await call(null, "GET", "/no/such/thing");
    expectGraphError(open, 404, "Request_ResourceNotFound");
    expect(open.body.error.message).toContain("thing");
    const versioned = await world.home.admin.get("/v1.0/noSuchCollection");
    expectGraphError(versioned, 404, "Request_ResourceNotFound");
  });

  it("answers malformed JSON with a 400 envelope and creates nothing", async () => {
    const res = await call(world.home.keys.GlobalAdministrator, "POST", "/v1.0/users", '{"accountEnabled": tru');
    expectGraphError(res, 400, "Request_BadRequest");
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts|stack/i);
  });
});

describe("body size limits", () => {
  const oversizeUser = (bytes: number) => {
    const body = userBody(world.home.domain);
    // Valid JSON padded with whitespace: only the size limit can refuse it.
    return { upn: body.userPrincipalName, text: JSON.stringify(body) + " ".repeat(bytes) };
  };

  it("refuses a JSON body over 1 MiB with 413 and creates nothing", async () => {
    const { upn, text } = oversizeUser(1_048_577);
    const res = await call(world.home.keys.GlobalAdministrator, "POST", "/v1.0/users", text);
    expectGraphError(res, 413, "Request_EntityTooLarge");
    expect((await world.home.admin.get(`/v1.0/users/${upn}`)).status).toBe(404);
  });

  it("refuses an oversize body sent without Content-Length (streamed) with 413", async () => {
    const { upn, text } = oversizeUser(1_100_000);
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 65_536) controller.enqueue(bytes.slice(i, i + 65_536));
        controller.close();
      },
    });
    const response = await exports.default.fetch(
      new Request(`${BASE}/v1.0/users`, {
        method: "POST",
        headers: { authorization: `Bearer ${world.home.keys.GlobalAdministrator}`, "content-type": "application/json" },
        body: stream,
      }),
    );
    const body = (await response.json()) as { error: { code: string } };
    expect(response.status).toBe(413);
    expect(body.error.code).toBe("Request_EntityTooLarge");
    expect((await world.home.admin.get(`/v1.0/users/${upn}`)).status).toBe(404);
  });

  it("accepts a body just under the limit", async () => {
    const { upn, text } = oversizeUser(1_000_000);
    const res = await call(world.home.keys.UserAdministrator, "POST", "/v1.0/users", text);
    expect(res.status).toBe(201);
    expect(res.body.userPrincipalName).toBe(upn);
  });

  it("lets the catalogue import exceed 1 MiB (its limit is 8 MiB) and refuses beyond 8 MiB", async () => {
    const padded = `${catalogCsv}${"\r\n".repeat(Math.floor((1_200_000 - catalogCsv.length) / 2))}`;
    const big = await call(world.home.keys.GlobalAdministrator, "POST", "/api/catalog/import", padded, {
      "content-type": "text/csv",
    });
    expect(big.status).toBe(200);
    expect(big.body.added).toEqual({ skus: 0, servicePlans: 0, skuServicePlans: 0 });
    const huge = await call(
      world.home.keys.GlobalAdministrator,
      "POST",
      "/api/catalog/import",
      "\n".repeat(8_388_609),
      {
        "content-type": "text/csv",
      },
    );
    expectGraphError(huge, 413, "Request_EntityTooLarge");
  });
});

describe("API description", () => {
  it("/openapi.json is valid JSON listing every route with its method and the bearer scheme", async () => {
    const res = await call(null, "GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(typeof res.body).toBe("object");
    expect(res.body.openapi).toMatch(/^3\./);
    const missing = appRoutes.filter((r) => !res.body.paths?.[r.path]?.[r.method.toLowerCase()]).map((r) => r.key);
    expect(missing).toEqual([]);
    expect(res.body.components.securitySchemes.apiKey).toMatchObject({ type: "http", scheme: "bearer" });
    const createSub = res.body.paths["/api/subscriptions"].post;
    expect(createSub.description).toMatch(/Roles: GlobalAdministrator\.$/);
    expect(Object.keys(createSub.responses)).toEqual(expect.arrayContaining(["201", "400", "401", "403", "413"]));
  });

  it("/docs renders an HTML page pointing at /openapi.json", async () => {
    const response = await exports.default.fetch(new Request(`${BASE}/docs`));
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/html/);
    expect(html).toMatch(/<html/i);
    expect(html).toContain("/openapi.json");
  });
});
