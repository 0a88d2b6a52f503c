// Fuzz: random and mutated JSON bodies for every POST and PATCH route of the OpenAPI document, with real and foreign ids.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/app.ts";
import { newTenant, newUser, PLAN, SKU, type TestTenant } from "../helpers/api.ts";
import {
  checked,
  encodeQueryValue,
  fuzzRuns,
  fuzzTimeout,
  hostileText,
  type Seeded,
  seededTenant,
  settle,
} from "../helpers/fuzz.ts";

/** The tenant under fuzz, a victim tenant whose ids are sent as if they were the fuzzed tenant's, and the operator. */
let s: Seeded;
let victim: Seeded;
let operator: TestTenant;
beforeAll(async () => {
  [s, victim, operator] = await Promise.all([
    seededTenant(),
    seededTenant(),
    newTenant("US", "Operator", { operator: true }),
  ]);
});

const watched = () => [s.t.id, victim.t.id, operator.id];

// ---- the routes, from the OpenAPI registry -----------------------------------------------------------------------

type Route = { method: string; path: string };
const routes: Route[] = app.openAPIRegistry.definitions.flatMap((d) =>
  d.type === "route" ? [{ method: d.route.method.toUpperCase(), path: d.route.path }] : [],
);
const writeRoutes = routes.filter((r) => r.method === "POST" || r.method === "PATCH" || r.method === "PUT");

let nick = 0;
const unique = () => `fz${++nick}x${Date.now().toString(36)}`;

/** The installation's bootstrap secret, set for POST /api/bootstrap's requests (without it the route is a 404). */
const BOOTSTRAP_TOKEN = "fuzz-bootstrap-token-0123456789abcdef";

/**
 * A body each write route accepts (the mutations start from it), and who may send it: an operator key, or the
 * bootstrap token (accepted only by a fresh installation, test/api/bootstrap.test.ts's; this one has operator tenants,
 * so every bootstrap here must be refused).
 */
const validBodies: Record<
  string,
  { body: () => unknown; contentType?: string; operator?: boolean; bootstrap?: boolean }
> = {
  "POST /v1.0/users": {
    body: () => {
      const n = unique();
      return {
        accountEnabled: true,
        displayName: `Fuzz ${n}`,
        mailNickname: n,
        userPrincipalName: `${n}@${s.t.domain}`,
        passwordProfile: { password: "x!Y2-long-enough", forceChangePasswordNextSignIn: true },
        usageLocation: "US",
        department: "Sales",
      };
    },
  },
  "PATCH /v1.0/users/{id}": { body: () => ({ department: "HR", jobTitle: "Engineer", usageLocation: "DE" }) },
  "POST /v1.0/groups": {
    body: () => ({ displayName: "Fuzz group", mailEnabled: false, mailNickname: unique(), securityEnabled: true }),
  },
  "PATCH /v1.0/groups/{id}": { body: () => ({ description: "fuzzed", displayName: "Renamed" }) },
  "POST /v1.0/groups/{id}/members/$ref": {
    body: () => ({ "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${s.users[3]}` }),
  },
  "POST /v1.0/users/{id}/assignLicense": {
    body: () => ({ addLicenses: [{ skuId: SKU.EMS, disabledPlans: [] }], removeLicenses: [] }),
  },
  "POST /v1.0/users/{id}/reprocessLicenseAssignment": { body: () => ({}) },
  "POST /v1.0/groups/{id}/assignLicense": {
    body: () => ({ addLicenses: [{ skuId: SKU.EMS, disabledPlans: [] }], removeLicenses: [] }),
  },
  "POST /api/groups/{id}/reprocess": { body: () => ({}) },
  "POST /api/subscriptions": { body: () => ({ skuId: SKU.EMS, totalLicenses: 2 }) },
  "PATCH /api/subscriptions/{id}": { body: () => ({ totalLicenses: 12 }) },
  "POST /api/subscriptions/{id}/takeOver": { body: () => ({}) },
  "POST /api/tenants/{tenantId}/subscriptions": {
    body: () => ({ skuId: SKU.EMS, totalLicenses: 3 }),
    operator: true,
  },
  "PATCH /api/tenants/{tenantId}/subscriptions/{id}": { body: () => ({ totalLicenses: 11 }), operator: true },
  "POST /api/tenants": { body: () => ({ displayName: "Fuzz tenant", country: "NL" }), operator: true },
  "PATCH /api/tenants/{id}": { body: () => ({ selfServiceSubscriptions: true }), operator: true },
  "POST /api/bootstrap": {
    body: () => ({ displayName: "Fuzz installation", country: "US", domains: [`${unique()}.example`] }),
    bootstrap: true,
  },
  "POST /v1.0/directory/deletedItems/{id}/restore": { body: () => ({}) },
  "PATCH /api/mailboxes/{id}": { body: () => ({ litigationHold: true }) },
  "POST /api/mailboxes/{id}/items": { body: () => ({ items: [{ subject: "Fuzz", sizeBytes: 1000 }] }) },
  "POST /api/mailboxes/{id}/items/applyLabel": { body: () => ({ retentionLabelId: null, itemIds: ["1"] }) },
  "POST /api/retention-labels": { body: () => ({ displayName: `Fuzz ${unique()}`, retentionDays: 30 }) },
  "PATCH /api/retention/settings": { body: () => ({ oneDriveRetentionDays: 60 }) },
  "POST /api/retention/run": { body: () => ({ dryRun: true }) },
  "POST /api/licensing/preview": {
    body: () => ({
      change: "userAssignLicense",
      userId: s.users[3],
      addLicenses: [{ skuId: SKU.EMS, disabledPlans: [] }],
      removeLicenses: [],
    }),
  },
  "POST /api/keys": { body: () => ({ role: "GlobalReader", name: "fuzz" }) },
  "POST /api/domains": { body: () => ({ id: `${unique()}.example` }) },
  "PATCH /api/settings": { body: () => ({ allowGuestsInLicensedGroups: false }) },
  "POST /api/plan-rules": {
    body: () => ({
      kind: "exclusive",
      servicePlanId: PLAN.EXCHANGE_S_STANDARD,
      relatedServicePlanIds: [PLAN.SWAY],
      description: "fuzz",
    }),
  },
  // Installation-wide: the operator only sends what is not a catalogue (a real one would change every tenant's).
  "POST /api/catalog/import": { body: () => "Product_Display_Name,String_Id,GUID\n", contentType: "text/csv" },
  "POST /v1.0/$batch": {
    body: () => ({
      requests: [
        { id: "1", method: "GET", url: "/users?$top=1" },
        { id: "2", method: "PATCH", url: `/users/${s.users[0]}`, body: { jobTitle: "Batched" }, dependsOn: ["1"] },
      ],
    }),
  },
};

/** Path parameters: the fuzzed tenant's own ids, the victim's (another tenant: must be a 404), and made-up ones. */
function paramValue(route: Route, name: string): fc.Arbitrary<string> {
  const of = (t: Seeded) => {
    if (name === "tenantId" || (route.path.startsWith("/api/tenants/{id}") && name === "id")) return [t.t.id];
    if (route.path.startsWith("/v1.0/directory/deletedItems/")) return [t.deletedUser, ...t.users];
    if (name === "userId" || route.path.startsWith("/v1.0/users/") || route.path.startsWith("/api/mailboxes/"))
      return [...t.users, t.guest];
    if (route.path.startsWith("/v1.0/groups/") || route.path.startsWith("/api/groups/"))
      return [t.staticGroup, t.licensedGroup, t.dynamicGroup];
    if (route.path.includes("subscriptions/")) return t.subscriptions;
    return t.ids;
  };
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...of(s)) },
    { weight: 2, arbitrary: fc.constantFrom(...of(victim)) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.uuid(),
        hostileText(30),
        fc.constantFrom("me", "..", "%2F", "$count", `adelev@${victim.t.domain}`, "a".repeat(400)),
      ),
    },
  );
}

function pathFor(route: Route): fc.Arbitrary<string> {
  const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  return fc
    .tuple(...names.map((n) => paramValue(route, n)))
    .map((values) => names.reduce((p, n, i) => p.replace(`{${n}}`, encodeQueryValue(values[i]!)), route.path));
}

// ---- bodies --------------------------------------------------------------------------------------------------------

/** Values a hostile client puts where a field's value goes. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileText(40),
  fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, 2 ** 53 + 1, 0.5, "", [], {}, [null], { $ref: "x" }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, 10_000_001, -0),
  fc.array(hostileText(10), { maxLength: 300 }),
  // deep, but not so deep that fast-check cannot print a counterexample holding it (it overflows near 3,000)
  fc.integer({ min: 50, max: 1500 }).map((n) => JSON.parse(`${"[".repeat(n)}${"]".repeat(n)}`)),
  fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty"),
  fc.uuid(),
);

type Mutation = { path: number; kind: "delete" | "set" | "addKey" | "recase" | "wrap"; value: unknown; key: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  path: fc.nat(),
  kind: fc.constantFrom("delete", "set", "set", "addKey", "recase", "wrap"),
  value: hostileValue,
  key: fc.oneof(hostileText(12), fc.constantFrom("__proto__", "constructor", "@odata.type", "id", "tenantId")),
});

/** Every container-and-key address inside a JSON value, in a stable order. */
function addresses(value: unknown, out: [Record<string, unknown> | unknown[], string | number][] = []) {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      out.push([value, i]);
      addresses(v, out);
    }
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.push([value as Record<string, unknown>, k]);
      addresses(v, out);
    }
  }
  return out;
}

/** A valid body with a few of its fields deleted, replaced, renamed in another case, wrapped, or joined by others. */
function mutated(base: unknown, mutations: Mutation[]): unknown {
  const body = structuredClone(base);
  for (const m of mutations) {
    const all = addresses(body);
    if (all.length === 0 || (m.kind === "addKey" && body && typeof body === "object")) {
      // JSON.parse is how a key like "__proto__" arrives from the wire: as an own property, not the prototype.
      if (body && typeof body === "object" && !Array.isArray(body))
        Object.assign(body, JSON.parse(JSON.stringify({ [m.key]: m.value }) ?? "{}"));
      continue;
    }
    const [container, key] = all[m.path % all.length]!;
    const c = container as Record<string | number, unknown>;
    if (m.kind === "delete") {
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete c[key];
    } else if (m.kind === "set") c[key] = m.value;
    else if (m.kind === "wrap") c[key] = [c[key], c[key]];
    else if (m.kind === "recase" && typeof key === "string") {
      c[key.toUpperCase() === key ? key.toLowerCase() : key.toUpperCase()] = c[key];
      delete c[key];
    }
  }
  return body;
}

/** Text that is not JSON, or JSON at its edges. */
const rawBody: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    "{",
    "[]",
    "null",
    '"text"',
    "1e999",
    '{"a":1,"a":2}',
    "\ufeff{}",
    '{"__proto__":{"admin":true}}',
    "{\u0000}",
    '{"addLicenses":[{"skuId":"\\ud800"}],"removeLicenses":[]}',
    `{"displayName":"${"\\u0000".repeat(10)}"}`,
  ),
  hostileText(200),
  fc.integer({ min: 1_048_000, max: 1_100_000 }).map((n) => `{"displayName":"${"a".repeat(n)}"}`),
);

function bodyFor(route: Route): fc.Arbitrary<{ body: unknown; contentType: string | undefined }> {
  const valid = validBodies[`${route.method} ${route.path}`]!;
  const contentType = fc.oneof(
    { weight: 12, arbitrary: fc.constant(valid.contentType) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "text/plain",
        "application/json; charset=utf-16",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
      ),
    },
  );
  const body = fc.oneof(
    { weight: 2, arbitrary: fc.constant(null).map(() => valid.body()) },
    {
      weight: 6,
      arbitrary: fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => mutated(valid.body(), ms)),
    },
    { weight: 2, arbitrary: fc.jsonValue() },
    { weight: 1, arbitrary: fc.anything().map((v) => JSON.parse(JSON.stringify(v) ?? "null")) },
    { weight: 1, arbitrary: rawBody },
  );
  return fc.tuple(body, contentType).map(([b, ct]) => ({ body: b, contentType: ct }));
}

const keyFor = (route: Route): fc.Arbitrary<string> => {
  const own = fc.constantFrom(
    s.t.keys.GlobalAdministrator,
    s.t.keys.GlobalAdministrator,
    s.t.keys.GlobalAdministrator,
    s.t.keys.LicenseAdministrator,
    s.t.keys.UserAdministrator,
    s.t.keys.GlobalReader,
    s.t.keys.HrIntegration,
  );
  const valid = validBodies[`${route.method} ${route.path}`];
  if (valid?.bootstrap)
    return fc.oneof(
      { weight: 3, arbitrary: fc.constant(BOOTSTRAP_TOKEN) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(`${BOOTSTRAP_TOKEN}x`, BOOTSTRAP_TOKEN.slice(1), operator.keys.GlobalAdministrator),
      },
      { weight: 1, arbitrary: own },
    );
  if (!valid?.operator) return own;
  return fc.oneof(fc.constant(operator.keys.GlobalAdministrator), own);
};

describe("fuzz: request bodies", { timeout: fuzzTimeout }, () => {
  it("every POST, PATCH and PUT route of the OpenAPI document has a valid body to mutate here", () => {
    const missing = writeRoutes.map((r) => `${r.method} ${r.path}`).filter((k) => !(k in validBodies));
    expect(missing).toEqual([]);
    expect(Object.keys(validBodies).filter((k) => !writeRoutes.some((r) => `${r.method} ${r.path}` === k))).toEqual([]);
  });

  it("the valid bodies are valid: each is accepted as it stands", async () => {
    const t = await seededTenant();
    // The operator's routes act on the fuzzed tenant and its first subscription.
    for (const route of writeRoutes) {
      const valid = validBodies[`${route.method} ${route.path}`]!;
      // The catalogue import would change every tenant's; a bootstrap is accepted on a fresh installation only.
      if (route.path === "/api/catalog/import" || valid.bootstrap) continue;
      const path = route.path
        .replace("{tenantId}", t.t.id)
        .replace("/api/tenants/{id}", `/api/tenants/${t.t.id}`)
        .replace(
          "{id}",
          route.path.endsWith("/takeOver")
            ? t.selfService
            : route.path.startsWith("/v1.0/directory/deletedItems/")
              ? t.deletedUser
              : route.path.startsWith("/api/mailboxes/")
                ? t.users[0]!
                : route.path.includes("subscriptions")
                  ? t.subscriptions[0]!
                  : route.path.endsWith("/members/$ref")
                    ? t.staticGroup
                    : route.path.startsWith("/v1.0/groups") || route.path.startsWith("/api/groups")
                      ? t.licensedGroup
                      : t.users[3]!,
        );
      const saved = s;
      s = t;
      try {
        const res = await checked([t.t.id], {
          key: valid.operator ? operator.keys.GlobalAdministrator : t.t.keys.GlobalAdministrator,
          method: route.method,
          path,
          body: valid.body(),
          ...(valid.contentType ? { headers: { "content-type": valid.contentType } } : {}),
        });
        expect(res.status, `${route.method} ${route.path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
      } finally {
        s = saved;
      }
    }
  });

  it.each(writeRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))(
    "%s: any body, any id, any role — below 500; refused, no tenant changes",
    async (_name, route) => {
      await fc.assert(
        fc.asyncProperty(pathFor(route), bodyFor(route), keyFor(route), async (path, { body, contentType }, key) => {
          const bootstrap = validBodies[`${route.method} ${route.path}`]!.bootstrap;
          const res = await checked(watched(), {
            key,
            method: route.method,
            path,
            body,
            ...(contentType ? { headers: { "content-type": contentType } } : {}),
            ...(bootstrap ? { bindings: { SEATFLOW_BOOTSTRAP_TOKEN: BOOTSTRAP_TOKEN } } : {}),
          });
          // This installation is bootstrapped: the route refuses everything, whoever sends it.
          if (bootstrap) expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
          // Another tenant's object named in the path is not the caller's to touch (operator keys act installation-wide).
          const operatorKey = Object.values(operator.keys).includes(key);
          const foreign = [...victim.ids, victim.t.id].some((id) => path.toLowerCase().includes(id.toLowerCase()));
          if (foreign && !operatorKey)
            expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
          if (route.path === "/v1.0/$batch" && res.status === 200) {
            for (const inner of res.body.responses as { status: number; body: unknown }[]) {
              expect(inner.status, JSON.stringify(inner.body)).toBeLessThan(500);
            }
          }
        }),
        fuzzRuns(8),
      );
    },
  );

  it("DELETE routes with foreign and made-up ids: 4xx and nothing changes anywhere", async () => {
    const deletes = routes.filter((r) => r.method === "DELETE");
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...deletes),
        fc.oneof(
          fc.constantFrom(...victim.ids, `adelev@${victim.t.domain}`, victim.t.domain),
          fc.uuid(),
          hostileText(20),
        ),
        async (route, id) => {
          const path = route.path.replace(/\{[^}]+\}/g, encodeQueryValue(id));
          const res = await checked(watched(), { key: s.t.keys.GlobalAdministrator, method: "DELETE", path });
          expect(res.status, path).toBeGreaterThanOrEqual(400);
        },
      ),
      fuzzRuns(25),
    );
  });

  it("after the body fuzz the tenant still creates and reads a user, and its audit page still parses", async () => {
    const id = await newUser(s.t.admin);
    expect((await s.t.admin.get(`/v1.0/users/${id}`)).status).toBe(200);
    await settle(s.t.id);
    const audits = await s.t.admin.get("/v1.0/auditLogs/directoryAudits?$top=999");
    expect(audits.status).toBe(200);
    expect(Array.isArray(audits.body.value)).toBe(true);
  });
});
