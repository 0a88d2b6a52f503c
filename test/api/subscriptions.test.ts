import { describe, expect, it } from "vitest";
import { assign, buy, type Client, newTenant, newUser, PLAN, SKU } from "../helpers/api.ts";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const noSeats = (skuId: string) => `Subscription with SKU ${skuId} does not have any available licenses.`;

type Pool = {
  id: string;
  skuId: string;
  skuPartNumber: string;
  capabilityStatus: string;
  consumedUnits: number;
  prepaidUnits: { enabled: number; warning: number; suspended: number; lockedOut: number };
  subscriptionIds: string[];
  servicePlans: { servicePlanId: string }[];
};

const pool = async (api: Client, skuId: string): Promise<Pool | undefined> => {
  const res = await api.get("/v1.0/subscribedSkus");
  expect(res.status).toBe(200);
  return res.body.value.find((s: Pool) => s.skuId === skuId);
};

const units = (enabled: number, warning = 0, suspended = 0, lockedOut = 0) => ({
  enabled,
  warning,
  suspended,
  lockedOut,
});

const setStatus = (api: Client, id: string, status: string) => api.patch(`/api/subscriptions/${id}`, { status });

const licensedSkus = async (api: Client, userId: string) =>
  (await api.get(`/v1.0/users/${userId}/licenseDetails`)).body.value.map((d: { skuId: string }) => d.skuId);

describe("POST /api/subscriptions", () => {
  it("buys by skuPartNumber and answers a companySubscription", async () => {
    const t = await newTenant();
    const before = Date.now();
    const res = await t.admin.post("/api/subscriptions", { skuPartNumber: "SPB", totalLicenses: 5 });
    expect(res.status).toBe(201);
    const sub = res.body;
    expect(sub).toMatchObject({
      isTrial: false,
      ownerType: "Company",
      ownerId: null,
      skuId: SKU.SPB,
      skuPartNumber: "SPB",
      status: "Enabled",
      totalLicenses: 5,
    });
    expect(sub.id).toMatch(GUID);
    expect(sub.commerceSubscriptionId).toMatch(GUID);
    expect(sub.commerceSubscriptionId).not.toBe(sub.id);
    expect(sub.createdDateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(Date.parse(sub.createdDateTime) - before)).toBeLessThan(60_000);
    expect(sub.serviceStatus.length).toBeGreaterThan(10);
    expect(sub.serviceStatus[0]).toEqual({
      servicePlanId: expect.stringMatching(GUID),
      servicePlanName: expect.any(String),
      provisioningStatus: "Success",
      appliesTo: "User",
    });
    expect(sub.serviceStatus.map((p: { servicePlanId: string }) => p.servicePlanId)).toContain(
      PLAN.EXCHANGE_S_STANDARD,
    );

    // The same object is readable back, on both the seatflow and the Graph paths.
    const back = await t.as("GlobalReader").get(`/api/subscriptions/${sub.id}`);
    expect(back.status).toBe(200);
    expect(back.body).toEqual(sub);
    const graph = await t.as("GlobalReader").get(`/v1.0/directory/subscriptions/${sub.id}`);
    expect(graph.status).toBe(200);
    expect(graph.body).toMatchObject({ id: sub.id, totalLicenses: 5, skuPartNumber: "SPB" });
    expect(graph.body["@odata.context"]).toContain("directory/subscriptions/$entity");
    const byCommerceId = await t.admin.get(`/v1.0/directory/subscriptions/${sub.commerceSubscriptionId}`);
    expect(byCommerceId.body.id).toBe(sub.id);
  });

  it("buys by skuId (case-insensitive) and records an audit row", async () => {
    const t = await newTenant();
    const res = await t.admin.post("/api/subscriptions", {
      skuId: SKU.E3.toUpperCase(),
      totalLicenses: 3,
      isTrial: true,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ skuId: SKU.E3, skuPartNumber: "ENTERPRISEPACK", totalLicenses: 3, isTrial: true });
    const audits = await t.admin.get("/v1.0/auditLogs/directoryAudits");
    const row = audits.body.value.find(
      (a: { activityDisplayName: string }) => a.activityDisplayName === "Add subscription",
    );
    expect(row.targetResources[0].id).toBe(res.body.id);
  });

  it("refuses an unknown SKU (by id or part number) with 400 and creates nothing", async () => {
    const t = await newTenant();
    const byId = await t.admin.post("/api/subscriptions", {
      skuId: "00000000-1111-2222-3333-444444444444",
      totalLicenses: 1,
    });
    expect(byId.status).toBe(400);
    expect(byId.body.error.code).toBe("Request_BadRequest");
    expect(byId.body.error.message).toContain("00000000-1111-2222-3333-444444444444");
    const byName = await t.admin.post("/api/subscriptions", { skuPartNumber: "NO_SUCH_PRODUCT", totalLicenses: 1 });
    expect(byName.status).toBe(400);
    expect(byName.body.error.message).toContain("NO_SUCH_PRODUCT");
    expect((await t.admin.get("/api/subscriptions")).body.value).toEqual([]);
  });

  it("refuses a skuPartNumber shared by several products instead of guessing", async () => {
    const t = await newTenant();
    const res = await t.admin.post("/api/subscriptions", { skuPartNumber: "MCOPSTN5", totalLicenses: 1 });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/skuId/);
  });

  it("validates the body: 400 with details, nothing created", async () => {
    const t = await newTenant();
    const negative = await t.admin.post("/api/subscriptions", { skuId: SKU.E3, totalLicenses: -1 });
    expect(negative.status).toBe(400);
    expect(negative.body.error.code).toBe("Request_BadRequest");
    expect(negative.body.error.details).toEqual([expect.objectContaining({ target: "totalLicenses" })]);

    const unknownField = await t.admin.post("/api/subscriptions", { skuId: SKU.E3, totalLicenses: 1, price: 12 });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.details.length).toBeGreaterThan(0);
    expect(unknownField.body.error.message).toContain("price");

    const fractional = await t.admin.post("/api/subscriptions", { skuId: SKU.E3, totalLicenses: 2.5 });
    expect(fractional.status).toBe(400);
    expect(fractional.body.error.details[0].target).toBe("totalLicenses");

    const noSku = await t.admin.post("/api/subscriptions", { totalLicenses: 1 });
    expect(noSku.status).toBe(400);
    expect(noSku.body.error.details[0].target).toBe("skuId");

    const badGuid = await t.admin.post("/api/subscriptions", { skuId: "not-a-guid", totalLicenses: 1 });
    expect(badGuid.status).toBe(400);
    expect(badGuid.body.error.details[0].target).toBe("skuId");

    const userWithoutOwner = await t.admin.post("/api/subscriptions", {
      skuId: SKU.E3,
      totalLicenses: 1,
      ownerType: "User",
    });
    expect(userWithoutOwner.status).toBe(400);
    expect(userWithoutOwner.body.error.message).toContain("ownerId");

    expect((await t.admin.get("/api/subscriptions")).body.value).toEqual([]);
  });
});

describe("license pools (subscribedSkus)", () => {
  it("aggregates SPB 5 + 8 seats into one pool of 13, with one directory/subscriptions row each", async () => {
    const t = await newTenant();
    const a = await buy(t.admin, SKU.SPB, 5);
    const b = await buy(t.admin, SKU.SPB, 8);
    const spb = await pool(t.as("LicenseAdministrator"), SKU.SPB);
    expect(spb).toMatchObject({
      id: `${t.id}_${SKU.SPB}`,
      skuPartNumber: "SPB",
      capabilityStatus: "Enabled",
      consumedUnits: 0,
      prepaidUnits: units(13),
    });
    expect([...spb!.subscriptionIds].sort()).toEqual([a.id, b.id].sort());
    expect(spb!.servicePlans.length).toBeGreaterThan(10);

    const rows = await t.as("GlobalReader").get("/v1.0/directory/subscriptions");
    expect(rows.status).toBe(200);
    expect(rows.body["@odata.context"]).toContain("directory/subscriptions");
    expect(rows.body.value.map((r: { id: string; totalLicenses: number }) => [r.id, r.totalLicenses]).sort()).toEqual(
      [
        [a.id, 5],
        [b.id, 8],
      ].sort(),
    );
  });

  it("GET /v1.0/subscribedSkus/{tenantId}_{skuId} answers one pool; an unheld SKU is a 404", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 4);
    const res = await t.as("GlobalReader").get(`/v1.0/subscribedSkus/${t.id}_${SKU.E3}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: `${t.id}_${SKU.E3}`,
      skuId: SKU.E3,
      skuPartNumber: "ENTERPRISEPACK",
      prepaidUnits: units(4),
      capabilityStatus: "Enabled",
    });
    expect(res.body["@odata.context"]).toContain("subscribedSkus/$entity");
    const missing = await t.admin.get(`/v1.0/subscribedSkus/${t.id}_${SKU.EMS}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("Request_ResourceNotFound");
  });

  it("PATCH totalLicenses resizes the pool, and the seat check follows", async () => {
    const t = await newTenant();
    const sub = await buy(t.admin, SKU.EMS, 1);
    const [u1, u2] = [await newUser(t.admin), await newUser(t.admin)];
    expect((await assign(t.admin, u1, [{ skuId: SKU.EMS }])).status).toBe(200);
    const full = await assign(t.admin, u2, [{ skuId: SKU.EMS }]);
    expect(full.status).toBe(400);
    expect(full.body.error.message).toBe(noSeats(SKU.EMS));

    const patched = await t.admin.patch(`/api/subscriptions/${sub.id}`, { totalLicenses: 2 });
    expect(patched.status).toBe(200);
    expect(patched.body.totalLicenses).toBe(2);
    expect((await pool(t.admin, SKU.EMS))!.prepaidUnits).toEqual(units(2));
    expect((await assign(t.admin, u2, [{ skuId: SKU.EMS }])).status).toBe(200);
    expect((await pool(t.admin, SKU.EMS))!.consumedUnits).toBe(2);
  });

  it("PATCH validates too: negative seats, unknown fields, empty bodies and unknown ids", async () => {
    const t = await newTenant();
    const sub = await buy(t.admin, SKU.E3, 3);
    const negative = await t.admin.patch(`/api/subscriptions/${sub.id}`, { totalLicenses: -5 });
    expect(negative.status).toBe(400);
    expect(negative.body.error.details[0].target).toBe("totalLicenses");
    const unknown = await t.admin.patch(`/api/subscriptions/${sub.id}`, { skuId: SKU.EMS });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("skuId");
    const empty = await t.admin.patch(`/api/subscriptions/${sub.id}`, {});
    expect(empty.status).toBe(400);
    const badStatus = await t.admin.patch(`/api/subscriptions/${sub.id}`, { status: "Paused" });
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error.details[0].target).toBe("status");
    const nobody = await t.admin.patch("/api/subscriptions/5f0c7a1e-0000-4000-8000-000000000000", {
      totalLicenses: 1,
    });
    expect(nobody.status).toBe(404);
    expect(nobody.body.error.code).toBe("Request_ResourceNotFound");
    expect((await t.admin.get(`/api/subscriptions/${sub.id}`)).body).toMatchObject({
      totalLicenses: 3,
      status: "Enabled",
    });
  });
});

describe("subscription lifecycle", () => {
  it("moves Enabled → Warning → Suspended → Deleted, and the pool's units and capabilityStatus follow", async () => {
    const t = await newTenant();
    const sub = await buy(t.admin, SKU.E3, 5);
    const user = await newUser(t.admin);
    expect((await assign(t.admin, user, [{ skuId: SKU.E3 }])).status).toBe(200);

    const steps = [
      ["Warning", units(0, 5), "Warning"],
      ["Suspended", units(0, 0, 5), "Suspended"],
      ["Deleted", units(0), "Deleted"],
    ] as const;
    for (const [status, prepaid, capability] of steps) {
      const res = await setStatus(t.admin, sub.id, status);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe(status);
      const p = await pool(t.admin, SKU.E3);
      expect({ status, prepaid: p!.prepaidUnits, capability: p!.capabilityStatus }).toEqual({
        status,
        prepaid,
        capability,
      });
    }
    // The user who was licensed stays licensed through the lifecycle (removal is the admin's call).
    expect(await licensedSkus(t.admin, user)).toEqual([SKU.E3]);
  });

  it("refuses an illegal move (Deleted → Enabled) with 400 and keeps the status", async () => {
    const t = await newTenant();
    const sub = await buy(t.admin, SKU.E3, 2);
    expect((await setStatus(t.admin, sub.id, "Deleted")).status).toBe(200);
    const res = await setStatus(t.admin, sub.id, "Enabled");
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("Request_BadRequest");
    expect(res.body.error.message).toContain("Deleted");
    expect((await t.admin.get(`/api/subscriptions/${sub.id}`)).body.status).toBe("Deleted");
    expect((await pool(t.admin, SKU.E3))!.prepaidUnits).toEqual(units(0));
  });

  it("Warning units cannot be assigned; reactivating (Warning → Enabled) makes them assignable again", async () => {
    const t = await newTenant();
    const sub = await buy(t.admin, SKU.E3, 2);
    expect((await setStatus(t.admin, sub.id, "Warning")).status).toBe(200);
    const user = await newUser(t.admin);
    const res = await assign(t.admin, user, [{ skuId: SKU.E3 }]);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(noSeats(SKU.E3));
    expect(await licensedSkus(t.admin, user)).toEqual([]);

    expect((await setStatus(t.admin, sub.id, "Enabled")).status).toBe(200);
    expect((await assign(t.admin, user, [{ skuId: SKU.E3 }])).status).toBe(200);
    expect((await pool(t.admin, SKU.E3))!.consumedUnits).toBe(1);
  });

  it("only the Enabled subscription of a SKU feeds the pool when another is in Warning", async () => {
    const t = await newTenant();
    const enabled = await buy(t.admin, SKU.EMS, 1);
    const warned = await buy(t.admin, SKU.EMS, 10);
    expect((await setStatus(t.admin, warned.id, "Warning")).status).toBe(200);
    const p = await pool(t.admin, SKU.EMS);
    expect(p!.prepaidUnits).toEqual(units(1, 10));
    expect(p!.capabilityStatus).toBe("Enabled");
    expect([...p!.subscriptionIds].sort()).toEqual([enabled.id, warned.id].sort());
    const [u1, u2] = [await newUser(t.admin), await newUser(t.admin)];
    expect((await assign(t.admin, u1, [{ skuId: SKU.EMS }])).status).toBe(200);
    expect((await assign(t.admin, u2, [{ skuId: SKU.EMS }])).body.error.message).toBe(noSeats(SKU.EMS));
  });
});

describe("over-allocation", () => {
  it("lowering seats below consumption keeps existing users licensed but refuses new assignments", async () => {
    const t = await newTenant();
    const sub = await buy(t.admin, SKU.E3, 3);
    const users = [await newUser(t.admin), await newUser(t.admin), await newUser(t.admin)];
    for (const u of users) expect((await assign(t.admin, u, [{ skuId: SKU.E3 }])).status).toBe(200);

    const lowered = await t.admin.patch(`/api/subscriptions/${sub.id}`, { totalLicenses: 1 });
    expect(lowered.status).toBe(200);
    const p = await pool(t.admin, SKU.E3);
    expect(p!.prepaidUnits.enabled).toBe(1);
    expect(p!.consumedUnits).toBe(3);
    for (const u of users) expect(await licensedSkus(t.admin, u)).toEqual([SKU.E3]);

    const newcomer = await newUser(t.admin);
    const res = await assign(t.admin, newcomer, [{ skuId: SKU.E3 }]);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(noSeats(SKU.E3));
    expect(await licensedSkus(t.admin, newcomer)).toEqual([]);

    // Freeing one seat still leaves the pool over-allocated (2 used of 1): still no room for the newcomer.
    expect((await assign(t.admin, users[0]!, [], [SKU.E3])).status).toBe(200);
    expect((await pool(t.admin, SKU.E3))!.consumedUnits).toBe(2);
    expect((await assign(t.admin, newcomer, [{ skuId: SKU.E3 }])).status).toBe(400);
  });

  it("an over-allocated user may still change the disabled plans of the license they hold", async () => {
    const t = await newTenant();
    const sub = await buy(t.admin, SKU.E3, 2);
    const [u1, u2] = [await newUser(t.admin), await newUser(t.admin)];
    for (const u of [u1, u2]) expect((await assign(t.admin, u, [{ skuId: SKU.E3 }])).status).toBe(200);
    expect((await t.admin.patch(`/api/subscriptions/${sub.id}`, { totalLicenses: 1 })).status).toBe(200);
    const res = await assign(t.admin, u1, [{ skuId: SKU.E3, disabledPlans: [PLAN.SWAY] }]);
    expect(res.status).toBe(200);
    const user = await t.admin.get(`/v1.0/users/${u1}?$select=assignedLicenses`);
    expect(user.body.assignedLicenses).toEqual([{ disabledPlans: [PLAN.SWAY], skuId: SKU.E3 }]);
    expect((await pool(t.admin, SKU.E3))!.consumedUnits).toBe(2);
  });
});

describe("self-service purchases", () => {
  it("are listed as subscriptions but are not in the admin's pool, and cannot be assigned from", async () => {
    const t = await newTenant();
    const owner = await newUser(t.admin);
    const res = await t.admin.post("/api/subscriptions", {
      skuId: SKU.E3,
      totalLicenses: 5,
      ownerType: "User",
      ownerId: owner,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ownerType: "User", ownerId: owner, totalLicenses: 5 });

    const rows = (await t.admin.get("/v1.0/directory/subscriptions")).body.value;
    expect(rows).toEqual([expect.objectContaining({ id: res.body.id, ownerType: "User", ownerId: owner })]);
    expect(await pool(t.admin, SKU.E3)).toBeUndefined();

    const user = await newUser(t.admin);
    const refused = await assign(t.admin, user, [{ skuId: SKU.E3 }]);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe("Request_BadRequest");
    expect(refused.body.error.message).toMatch(/self-service/i);
    expect(await licensedSkus(t.admin, user)).toEqual([]);
  });

  it("beside a company subscription, only the company seats count", async () => {
    const t = await newTenant();
    const company = await buy(t.admin, SKU.E3, 1);
    await buy(t.admin, SKU.E3, 5, { ownerType: "User", ownerId: "someone@contoso.test" });
    const p = await pool(t.admin, SKU.E3);
    expect(p!.prepaidUnits).toEqual(units(1));
    expect(p!.subscriptionIds).toEqual([company.id]);
    const [u1, u2] = [await newUser(t.admin), await newUser(t.admin)];
    expect((await assign(t.admin, u1, [{ skuId: SKU.E3 }])).status).toBe(200);
    expect((await assign(t.admin, u2, [{ skuId: SKU.E3 }])).body.error.message).toBe(noSeats(SKU.E3));
  });

  it("after takeOver the seats join the pool and assignment works", async () => {
    const t = await newTenant();
    const owner = await newUser(t.admin);
    const sub = await buy(t.admin, SKU.E3, 5, { ownerType: "User", ownerId: owner });
    const taken = await t.admin.post(`/api/subscriptions/${sub.id}/takeOver`);
    expect(taken.status).toBe(200);
    expect(taken.body).toMatchObject({ id: sub.id, ownerType: "Company", ownerId: null, totalLicenses: 5 });

    const p = await pool(t.admin, SKU.E3);
    expect(p!.prepaidUnits).toEqual(units(5));
    expect(p!.subscriptionIds).toEqual([sub.id]);
    const user = await newUser(t.admin);
    expect((await assign(t.admin, user, [{ skuId: SKU.E3 }])).status).toBe(200);
    expect((await pool(t.admin, SKU.E3))!.consumedUnits).toBe(1);
    expect((await t.admin.get(`/api/subscriptions/${sub.id}`)).body.ownerType).toBe("Company");
  });

  it("takeOver of a company subscription is a 400 (and of an unknown id a 404)", async () => {
    const t = await newTenant();
    const sub = await buy(t.admin, SKU.E3, 2);
    const res = await t.admin.post(`/api/subscriptions/${sub.id}/takeOver`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("Request_BadRequest");
    expect(res.body.error.message).toMatch(/self-service/i);
    const unknown = await t.admin.post("/api/subscriptions/5f0c7a1e-0000-4000-8000-000000000000/takeOver");
    expect(unknown.status).toBe(404);
    // A second takeOver of an already taken-over subscription is refused too.
    const own = await buy(t.admin, SKU.EMS, 1, { ownerType: "User", ownerId: "x@contoso.test" });
    expect((await t.admin.post(`/api/subscriptions/${own.id}/takeOver`)).status).toBe(200);
    expect((await t.admin.post(`/api/subscriptions/${own.id}/takeOver`)).status).toBe(400);
  });
});

describe("who sells seats", () => {
  it("a tenant without selfServiceSubscriptions can't buy or change seats; the operator sells them", async () => {
    const operator = await newTenant("US", "Operator", { operator: true });
    const t = await newTenant("US", "Customer", { selfServiceSubscriptions: false });
    const refused = await t.admin.post("/api/subscriptions", { skuId: SKU.EMS, totalLicenses: 10_000_000 });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain("operator");
    expect((await t.admin.get("/v1.0/subscribedSkus")).body.value).toEqual([]);

    const sold = await operator.admin.post(`/api/tenants/${t.id}/subscriptions`, { skuId: SKU.EMS, totalLicenses: 2 });
    expect(sold.status).toBe(201);
    expect((await pool(t.admin, SKU.EMS))!.prepaidUnits).toEqual(units(2));
    expect((await t.admin.patch(`/api/subscriptions/${sold.body.id}`, { totalLicenses: 500 })).status).toBe(403);
    const changed = await operator.admin.patch(`/api/tenants/${t.id}/subscriptions/${sold.body.id}`, {
      totalLicenses: 3,
    });
    expect(changed.status).toBe(200);
    expect(changed.body.totalLicenses).toBe(3);
    // The customer's log says who sold it: the operator's key.
    const audit = await t.admin.get(
      "/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Add subscription'",
    );
    expect(audit.body.value[0].initiatedBy.app.servicePrincipalName).toBe("GlobalAdministrator");
    expect(audit.body.value[0].initiatedBy.app.appId).not.toBeNull();

    // A non-operator can't sell seats to anyone, nor switch self-service on.
    expect(
      (await t.admin.post(`/api/tenants/${t.id}/subscriptions`, { skuId: SKU.EMS, totalLicenses: 1 })).status,
    ).toBe(403);
    expect((await t.admin.patch(`/api/tenants/${t.id}`, { selfServiceSubscriptions: true })).status).toBe(403);
    // The operator can.
    const on = await operator.admin.patch(`/api/tenants/${t.id}`, { selfServiceSubscriptions: true });
    expect(on.status).toBe(200);
    expect(on.body.selfServiceSubscriptions).toBe(true);
    expect((await t.admin.get("/api/settings")).body).toEqual({
      allowGuestsInLicensedGroups: false,
      selfServiceSubscriptions: true,
    });
    expect((await t.admin.post("/api/subscriptions", { skuId: SKU.E3, totalLicenses: 1 })).status).toBe(201);
    expect(
      (
        await operator.admin.post("/api/tenants/00000000-0000-4000-8000-000000000000/subscriptions", {
          skuId: SKU.E3,
          totalLicenses: 1,
        })
      ).status,
    ).toBe(404);
  });

  it("cutting seats below what is in use answers 200 with a warning and writes an over-allocation alert", async () => {
    const t = await newTenant();
    const sub = await buy(t.admin, SKU.EMS, 3);
    const users = [await newUser(t.admin), await newUser(t.admin), await newUser(t.admin)];
    for (const u of users) expect((await assign(t.admin, u, [{ skuId: SKU.EMS }])).status).toBe(200);
    expect((await t.admin.get("/api/reports/overallocation")).body).toEqual({ pools: [], value: [] });

    const cut = await t.admin.patch(`/api/subscriptions/${sub.id}`, { totalLicenses: 1 });
    expect(cut.status).toBe(200);
    expect(cut.body.totalLicenses).toBe(1);
    expect(cut.body.warning).toMatch(/3 seats in use and 1 enabled/);
    // Everyone keeps their license; nobody new gets one.
    expect((await pool(t.admin, SKU.EMS))!.consumedUnits).toBe(3);
    expect((await assign(t.admin, await newUser(t.admin), [{ skuId: SKU.EMS }])).status).toBe(400);

    const report = await t.as("GlobalReader").get("/api/reports/overallocation");
    expect(report.status).toBe(200);
    expect(report.body.pools).toEqual([{ skuId: SKU.EMS, skuPartNumber: "EMS", enabledUnits: 1, consumedUnits: 3 }]);
    expect(report.body.value).toEqual([
      expect.objectContaining({ skuId: SKU.EMS, subscriptionId: sub.id, enabledUnits: 1, consumedUnits: 3 }),
    ]);
    // A change that leaves the pool within its seats raises nothing.
    const fine = await t.admin.patch(`/api/subscriptions/${sub.id}`, { totalLicenses: 5 });
    expect(fine.body.warning).toBeUndefined();
    expect((await t.admin.get("/api/reports/overallocation")).body.pools).toEqual([]);
    expect((await t.admin.get("/api/reports/overallocation")).body.value).toHaveLength(1);
  });
});
