import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { assign, buy, type Client, newTenant, newUser, PLAN, SKU } from "../helpers/api.ts";
import { catalogCsv } from "../helpers/catalog.ts";

const HEADER =
  "Product_Display_Name,String_Id,GUID,Service_Plan_Name,Service_Plan_Id,Service_Plans_Included_Friendly_Names";
const AI_BUILDER = "d2dea78b-507c-4e56-b400-39447f4738f8"; // CDSAICAPACITY: two plans, used by no other test
const EXTRA_PLAN = "5eaf1e0d-7e57-4c0d-9a1a-000000000001";

const csvOf = (...rows: string[]) => [HEADER, ...rows].join("\r\n");

const importCsv = (api: Client, csv: string) => api.post("/api/catalog/import", csv, { "content-type": "text/csv" });

async function catalogueCounts() {
  return env.DB.prepare(
    `SELECT (SELECT count(*) FROM skus) AS skus, (SELECT count(*) FROM service_plans) AS servicePlans,
       (SELECT count(*) FROM sku_service_plans) AS skuServicePlans`,
  ).first<{ skus: number; servicePlans: number; skuServicePlans: number }>();
}

const poolPlans = async (api: Client, skuId: string) => {
  const res = await api.get("/v1.0/subscribedSkus");
  const sku = res.body.value.find((s: { skuId: string }) => s.skuId === skuId);
  return sku.servicePlans.map((p: { servicePlanId: string; servicePlanName: string }) => [
    p.servicePlanId,
    p.servicePlanName,
  ]);
};

describe("product catalogue", () => {
  it("ships 569 products and 5,457 product/plan rows", async () => {
    // Counted apart from the plan another test of this file adds, so the order of tests does not matter.
    const shipped = await env.DB.prepare(
      `SELECT (SELECT count(*) FROM skus) AS skus, (SELECT count(*) FROM service_plans WHERE id <> ?1) AS servicePlans,
         (SELECT count(*) FROM sku_service_plans WHERE service_plan_id <> ?1) AS skuServicePlans`,
    )
      .bind(EXTRA_PLAN)
      .first();
    expect(shipped).toEqual({ skus: 569, servicePlans: 723, skuServicePlans: 5448 });
    const t = await newTenant("US", "Contoso", { operator: true });
    const res = await importCsv(t.admin, catalogCsv);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rows: 5457, products: 569, servicePlans: 723 });
  });

  it("re-importing the shipped CSV is idempotent: nothing added, nothing changed", async () => {
    const t = await newTenant("US", "Contoso", { operator: true });
    const before = await catalogueCounts();
    const res = await importCsv(t.admin, catalogCsv);
    expect(res.status).toBe(200);
    expect(res.body.added).toEqual({ skus: 0, servicePlans: 0, skuServicePlans: 0 });
    expect(await catalogueCounts()).toEqual(before);
    const audits = await t.admin.get("/v1.0/auditLogs/directoryAudits");
    expect(audits.body.value.map((a: { activityDisplayName: string }) => a.activityDisplayName)).toContain(
      "Import product catalogue",
    );
  });

  it("a new plan row on an existing SKU appears in that SKU's servicePlans", async () => {
    const t = await newTenant("US", "Contoso", { operator: true });
    await buy(t.admin, AI_BUILDER, 2);
    const planId = EXTRA_PLAN;
    expect((await poolPlans(t.admin, AI_BUILDER)).map((p: string[]) => p[0])).not.toContain(planId);

    const csv = csvOf(`AI Builder Capacity add-on,CDSAICAPACITY,${AI_BUILDER},SEATFLOW_EXTRA,${planId},Seatflow Extra`);
    const res = await importCsv(t.admin, csv);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rows: 1, products: 1, added: { skus: 0, servicePlans: 1, skuServicePlans: 1 } });

    const plans = await poolPlans(t.admin, AI_BUILDER);
    expect(plans).toContainEqual([planId, "SEATFLOW_EXTRA"]);
    expect(plans.length).toBe(3); // additive: the two shipped plans stay
    const sub = (await t.admin.get("/api/subscriptions")).body.value[0];
    expect(sub.serviceStatus.map((p: { servicePlanId: string }) => p.servicePlanId)).toContain(planId);

    // Importing it again adds nothing.
    expect((await importCsv(t.admin, csv)).body.added).toEqual({ skus: 0, servicePlans: 0, skuServicePlans: 0 });
  });

  it("refuses a CSV missing a column with 400 and changes nothing", async () => {
    const t = await newTenant("US", "Contoso", { operator: true });
    const before = await catalogueCounts();
    const csv = [
      "Product_Display_Name,String_Id,GUID,Service_Plan_Name,Service_Plans_Included_Friendly_Names",
      "Brand New Product,BRAND_NEW,0badc0de-0000-4000-8000-000000000001,NEW_PLAN,New Plan",
    ].join("\r\n");
    const res = await importCsv(t.admin, csv);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("Request_BadRequest");
    expect(res.body.error.message).toContain("Service_Plan_Id");
    expect(await catalogueCounts()).toEqual(before);
  });

  it("refuses a CSV with a non-GUID with 400 and applies none of its good rows", async () => {
    const t = await newTenant("US", "Contoso", { operator: true });
    const before = await catalogueCounts();
    const csv = csvOf(
      "Brand New Product,BRAND_NEW,0badc0de-0000-4000-8000-000000000002,NEW_PLAN,0badc0de-0000-4000-8000-0000000000a2,New Plan",
      "Broken Product,BROKEN,not-a-guid,NEW_PLAN,0badc0de-0000-4000-8000-0000000000a3,New Plan",
    );
    const res = await importCsv(t.admin, csv);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/Row 3/);
    expect(await catalogueCounts()).toEqual(before);
    const sku = await env.DB.prepare("SELECT id FROM skus WHERE id = ?1")
      .bind("0badc0de-0000-4000-8000-000000000002")
      .first();
    expect(sku).toBeNull();
    expect((await t.admin.post("/api/subscriptions", { skuPartNumber: "BRAND_NEW", totalLicenses: 1 })).status).toBe(
      400,
    );
  });

  it("refuses an empty body with 400", async () => {
    const t = await newTenant("US", "Contoso", { operator: true });
    const res = await importCsv(t.admin, "");
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("Request_BadRequest");
  });
});

describe("plan rules", () => {
  it("GET /api/plan-rules lists the curated rules every tenant starts with", async () => {
    const t = await newTenant("US", "Contoso", { operator: true });
    const res = await t.as("GlobalReader").get("/api/plan-rules");
    expect(res.status).toBe(200);
    const rules = res.body.value.map((r: Record<string, unknown>) => ({
      kind: r.kind,
      servicePlanId: r.servicePlanId,
      relatedServicePlanIds: r.relatedServicePlanIds,
    }));
    expect(rules).toEqual(
      expect.arrayContaining([
        {
          kind: "exclusive",
          servicePlanId: PLAN.EXCHANGE_S_STANDARD,
          relatedServicePlanIds: [PLAN.EXCHANGE_S_ENTERPRISE],
        },
        { kind: "requires", servicePlanId: PLAN.MCOMEETADV, relatedServicePlanIds: [PLAN.MCOSTANDARD] },
        {
          kind: "requires",
          servicePlanId: PLAN.SHAREPOINT_PROJECT,
          relatedServicePlanIds: [PLAN.SHAREPOINTENTERPRISE],
        },
      ]),
    );
    for (const r of res.body.value) {
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.description.length).toBeGreaterThan(0);
    }
  });

  it("rules are data: deleting the curated Exchange P1/P2 exclusion lets a user hold both", async () => {
    const t = await newTenant("US", "Contoso", { operator: true });
    await buy(t.admin, SKU.EXCHANGE_P1, 1);
    await buy(t.admin, SKU.EXCHANGE_P2, 1);
    const user = await newUser(t.admin);
    const refused = await assign(t.admin, user, [{ skuId: SKU.EXCHANGE_P1 }, { skuId: SKU.EXCHANGE_P2 }]);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain("mutually exclusive");

    const rules = (await t.admin.get("/api/plan-rules")).body.value;
    const exclusive = rules.find(
      (r: { kind: string; servicePlanId: string }) =>
        r.kind === "exclusive" && r.servicePlanId === PLAN.EXCHANGE_S_STANDARD,
    );
    expect((await t.admin.delete(`/api/plan-rules/${exclusive.id}`)).status).toBe(204);
    expect((await assign(t.admin, user, [{ skuId: SKU.EXCHANGE_P1 }, { skuId: SKU.EXCHANGE_P2 }])).status).toBe(200);
  });

  it("a prohibited_location rule refuses direct assignment in that location only, until it is deleted", async () => {
    const t = await newTenant("US", "Contoso", { operator: true });
    await buy(t.admin, SKU.E3, 10);
    const created = await t.admin.post("/api/plan-rules", {
      kind: "prohibited_location",
      servicePlanId: PLAN.SWAY.toUpperCase(),
      usageLocation: "cn",
      description: "Sway is not offered in CN",
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      kind: "prohibited_location",
      servicePlanId: PLAN.SWAY,
      usageLocation: "CN",
      relatedServicePlanIds: [],
    });
    const listed = (await t.as("LicenseAdministrator").get("/api/plan-rules")).body.value;
    expect(listed.map((r: { id: string }) => r.id)).toContain(created.body.id);

    const cnUser = await newUser(t.admin, { usageLocation: "CN" });
    const refused = await assign(t.admin, cnUser, [{ skuId: SKU.E3 }]);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe("Request_BadRequest");
    expect(refused.body.error.message).toContain(PLAN.SWAY);
    expect(refused.body.error.message).toContain("CN");
    expect((await t.admin.get(`/v1.0/users/${cnUser}/licenseDetails`)).body.value).toEqual([]);

    const usUser = await newUser(t.admin, { usageLocation: "US" });
    expect((await assign(t.admin, usUser, [{ skuId: SKU.E3 }])).status).toBe(200);

    // Only enabled plans count: with Sway disabled, the CN user may have the SKU.
    const cnWithoutSway = await newUser(t.admin, { usageLocation: "CN" });
    expect((await assign(t.admin, cnWithoutSway, [{ skuId: SKU.E3, disabledPlans: [PLAN.SWAY] }])).status).toBe(200);

    expect((await t.admin.delete(`/api/plan-rules/${created.body.id}`)).status).toBe(204);
    expect((await assign(t.admin, cnUser, [{ skuId: SKU.E3 }])).status).toBe(200);
    const again = await t.admin.delete(`/api/plan-rules/${created.body.id}`);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe("Request_ResourceNotFound");
  });

  it("refuses rules naming unknown plans or missing their parameters", async () => {
    const t = await newTenant("US", "Contoso", { operator: true });
    const before = (await t.admin.get("/api/plan-rules")).body.value.length;
    const unknownPlan = await t.admin.post("/api/plan-rules", {
      kind: "prohibited_location",
      servicePlanId: "0badc0de-0000-4000-8000-00000000beef",
      usageLocation: "CN",
    });
    expect(unknownPlan.status).toBe(400);
    expect(unknownPlan.body.error.message).toContain("0badc0de-0000-4000-8000-00000000beef");
    const unknownRelated = await t.admin.post("/api/plan-rules", {
      kind: "requires",
      servicePlanId: PLAN.SWAY,
      relatedServicePlanIds: ["0badc0de-0000-4000-8000-00000000cafe"],
    });
    expect(unknownRelated.status).toBe(400);
    expect(unknownRelated.body.error.message).toContain("0badc0de-0000-4000-8000-00000000cafe");
    const noLocation = await t.admin.post("/api/plan-rules", { kind: "prohibited_location", servicePlanId: PLAN.SWAY });
    expect(noLocation.status).toBe(400);
    const noRelated = await t.admin.post("/api/plan-rules", { kind: "exclusive", servicePlanId: PLAN.SWAY });
    expect(noRelated.status).toBe(400);
    const notGuid = await t.admin.post("/api/plan-rules", {
      kind: "prohibited_location",
      servicePlanId: "SWAY",
      usageLocation: "CN",
    });
    expect(notGuid.status).toBe(400);
    expect(notGuid.body.error.details[0].target).toBe("servicePlanId");
    const badKind = await t.admin.post("/api/plan-rules", {
      kind: "forbidden",
      servicePlanId: PLAN.SWAY,
      usageLocation: "CN",
    });
    expect(badKind.status).toBe(400);
    expect(badKind.body.error.details[0].target).toBe("kind");
    expect((await t.admin.get("/api/plan-rules")).body.value.length).toBe(before);
  });

  it("another tenant neither sees nor is bound by this tenant's rules", async () => {
    const home = await newTenant();
    const other = await newTenant();
    const created = await home.admin.post("/api/plan-rules", {
      kind: "prohibited_location",
      servicePlanId: PLAN.SWAY,
      usageLocation: "CN",
    });
    expect(created.status).toBe(201);
    const otherRules = (await other.admin.get("/api/plan-rules")).body.value;
    expect(otherRules.map((r: { id: string }) => r.id)).not.toContain(created.body.id);
    expect(otherRules.some((r: { usageLocation: string | null }) => r.usageLocation === "CN")).toBe(false);

    await buy(other.admin, SKU.E3, 1);
    const cnUser = await newUser(other.admin, { usageLocation: "CN" });
    expect((await assign(other.admin, cnUser, [{ skuId: SKU.E3 }])).status).toBe(200);
    expect((await other.admin.delete(`/api/plan-rules/${created.body.id}`)).status).toBe(404);
    expect((await home.admin.get("/api/plan-rules")).body.value.map((r: { id: string }) => r.id)).toContain(
      created.body.id,
    );
  });
});

describe("catalogue ownership across tenants", () => {
  // The catalogue is shared by every tenant, so only the operator tenant's administrators may import it.
  it("one tenant's catalogue import does not change the products another tenant sees", async () => {
    const victim = await newTenant();
    await buy(victim.admin, AI_BUILDER, 1);
    const attacker = await newTenant();
    const operator = await newTenant("US", "Operator", { operator: true });
    const renamed = csvOf(
      `Renamed Product,RENAMED_BY_ATTACKER,${AI_BUILDER},CDSAICAPACITY,a7c70a41-5e02-4271-93e6-d9b4184d83f5,AI Builder capacity add-on`,
    );
    try {
      const res = await importCsv(attacker.admin, renamed);
      // Fixed either way: the import is refused to tenant keys, or it only affects the importing tenant.
      if (res.status === 200) {
        const pool = (await victim.admin.get("/v1.0/subscribedSkus")).body.value[0];
        expect(pool.skuPartNumber).toBe("CDSAICAPACITY");
      } else {
        expect(res.status).toBe(403);
      }
    } finally {
      // Put the shipped names back whatever happened.
      await importCsv(operator.admin, catalogCsv);
    }
  });
});
