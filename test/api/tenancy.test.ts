import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { assign, buy, call, client, newTenant, newUser, SKU } from "../helpers/api.ts";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Audit = {
  activityDisplayName: string;
  targetResources: { id: string }[];
  additionalDetails: { key: string; value: string }[];
};

describe("POST /api/tenants", () => {
  it("creates a tenant whose admin key works against the new tenant only", async () => {
    const old = await newTenant("US", "Old Corp", { operator: true });
    const oldUser = await newUser(old.admin);

    const domain = `fabrikam-${Math.random().toString(36).slice(2, 8)}.example`;
    const res = await old.admin.post("/api/tenants", { displayName: "Fabrikam", country: "de", domains: [domain] });
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(GUID);
    expect(res.body.id).not.toBe(old.id);
    expect(res.body.displayName).toBe("Fabrikam");
    expect(res.body.country).toBe("DE");
    expect(res.body.adminKey).toMatch(/^sf_[A-Za-z0-9_-]{40,}$/);

    // A domain belongs to one tenant: a second tenant asking for it (first or among others) is refused, not created.
    const again = await old.admin.post("/api/tenants", {
      displayName: "Fabrikam again",
      country: "de",
      domains: [`other-${domain}`, domain],
    });
    expect(again.status).toBe(400);
    expect(again.body.error.message).toBe(`The domain '${domain}' is already a domain of another tenant.`);
    const left = await env.DB.prepare(
      `SELECT (SELECT count(*) FROM tenants WHERE display_name = 'Fabrikam again') AS tenants,
              (SELECT count(*) FROM domains WHERE name = ?1) AS domains`,
    )
      .bind(`other-${domain}`)
      .first();
    expect(left).toEqual({ tenants: 0, domains: 0 });

    const fresh = client(res.body.adminKey, domain);
    const org = await fresh.get("/v1.0/organization");
    expect(org.status).toBe(200);
    expect(org.body.value).toEqual([
      expect.objectContaining({ id: res.body.id, displayName: "Fabrikam", countryLetterCode: "DE" }),
    ]);
    const users = await fresh.get("/v1.0/users");
    expect(users.status).toBe(200);
    expect(users.body.value).toEqual([]);
    expect((await fresh.get(`/v1.0/users/${oldUser}`)).status).toBe(404);

    // The old tenant is still itself, and still has its user.
    expect((await old.admin.get("/v1.0/organization")).body.value[0].id).toBe(old.id);
    expect((await old.admin.get(`/v1.0/users/${oldUser}`)).status).toBe(200);

    // The new tenant is fully usable: it starts with the curated plan rules, and its admin can act.
    expect((await fresh.get("/api/plan-rules")).body.value.length).toBeGreaterThanOrEqual(3);
    // Seats are the operator's to sell: the new tenant's own admin may not buy them, the operator sells them.
    expect((await fresh.post("/api/subscriptions", { skuId: SKU.E3, totalLicenses: 1 })).status).toBe(403);
    const sold = await old.admin.post(`/api/tenants/${res.body.id}/subscriptions`, { skuId: SKU.E3, totalLicenses: 1 });
    expect(sold.status).toBe(201);
    const newUserId = await newUser(fresh);
    expect((await assign(fresh, newUserId, [{ skuId: SKU.E3 }])).status).toBe(200);
    expect((await old.admin.get("/v1.0/users")).body.value.map((u: { id: string }) => u.id)).not.toContain(newUserId);

    const keys = await fresh.get("/api/keys");
    expect(keys.body.value).toEqual([expect.objectContaining({ role: "GlobalAdministrator", revokedAt: null })]);
  });

  it("is for the operator tenant's administrators only", async () => {
    const t = await newTenant();
    const res = await t.admin.post("/api/tenants", { displayName: "Rogue", country: "DE" });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("Authorization_RequestDenied");
    const operator = await newTenant("US", "Operator", { operator: true });
    const created = await operator.admin.post("/api/tenants", { displayName: "Audited", country: "DE" });
    expect(created.status).toBe(201);
    const audit = await operator.admin.get(
      "/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Add tenant'",
    );
    expect(audit.body.value[0].targetResources[0].id).toBe(created.body.id);
  });

  it("validates the body", async () => {
    const t = await newTenant("US", "Contoso", { operator: true });
    const badCountry = await t.admin.post("/api/tenants", { displayName: "X", country: "DEU" });
    expect(badCountry.status).toBe(400);
    expect(badCountry.body.error.details[0].target).toBe("country");
    const noName = await t.admin.post("/api/tenants", { displayName: "  ", country: "DE" });
    expect(noName.status).toBe(400);
    expect(noName.body.error.details[0].target).toBe("displayName");
    const extra = await t.admin.post("/api/tenants", { displayName: "X", country: "DE", id: t.id });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toContain("id");
  });
});

describe("API keys", () => {
  it("a GlobalReader key reads but gets 403 on every kind of write", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 2);
    const userId = await newUser(t.admin);
    const issued = await t.admin.post("/api/keys", { role: "GlobalReader", name: "auditor" });
    expect(issued.status).toBe(201);
    expect(issued.body).toMatchObject({ role: "GlobalReader", name: "auditor", tenantId: t.id });
    expect(issued.body.id).toMatch(GUID);
    expect(issued.body.key).toMatch(/^sf_/);

    const reader = client(issued.body.key);
    for (const path of [
      "/v1.0/organization",
      "/v1.0/users",
      `/v1.0/users/${userId}`,
      "/v1.0/subscribedSkus",
      "/api/subscriptions",
    ]) {
      const res = await reader.get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
    expect((await reader.get("/v1.0/organization")).body.value[0].id).toBe(t.id);

    const writes = [
      await reader.post("/v1.0/users", {
        accountEnabled: true,
        displayName: "Nope",
        mailNickname: "nope",
        userPrincipalName: `nope@${t.domain}`,
      }),
      await reader.patch(`/v1.0/users/${userId}`, { jobTitle: "Reader was here" }),
      await assign(reader, userId, [{ skuId: SKU.E3 }]),
      await reader.post("/api/subscriptions", { skuId: SKU.E3, totalLicenses: 1 }),
      await reader.post("/api/keys", { role: "GlobalAdministrator" }),
      await reader.delete(`/v1.0/users/${userId}`),
    ];
    expect(writes.map((w) => [w.status, w.body.error.code])).toEqual(
      writes.map(() => [403, "Authorization_RequestDenied"]),
    );
    // Nothing happened.
    const user = await t.admin.get(`/v1.0/users/${userId}?$select=jobTitle,assignedLicenses`);
    expect(user.body).toMatchObject({ jobTitle: null, assignedLicenses: [] });
    expect((await t.admin.get(`/v1.0/users/nope@${t.domain}`)).status).toBe(404);
    expect((await t.admin.get("/api/subscriptions")).body.value).toHaveLength(1);
  });

  it("GET /api/keys lists the tenant's keys without their secrets", async () => {
    const t = await newTenant();
    const issued = await t.admin.post("/api/keys", { role: "LicenseAdministrator", name: "licensing bot" });
    expect(issued.status).toBe(201);
    const res = await t.admin.get("/api/keys");
    expect(res.status).toBe(200);
    // newTenant issued one key per role; plus the one above.
    expect(res.body.value).toHaveLength(6);
    expect(res.body.value).toContainEqual({
      id: issued.body.id,
      name: "licensing bot",
      role: "LicenseAdministrator",
      createdAt: issued.body.createdAt,
      revokedAt: null,
    });
    const text = JSON.stringify(res.body);
    for (const secret of [issued.body.key, ...Object.values(t.keys)]) expect(text).not.toContain(secret);
    for (const k of res.body.value)
      expect(Object.keys(k).sort()).toEqual(["createdAt", "id", "name", "revokedAt", "role"]);

    const other = await newTenant();
    const otherIds = (await other.admin.get("/api/keys")).body.value.map((k: { id: string }) => k.id);
    expect(otherIds).not.toContain(issued.body.id);
  });

  it("refuses an unknown role or extra fields", async () => {
    const t = await newTenant();
    const badRole = await t.admin.post("/api/keys", { role: "SuperUser" });
    expect(badRole.status).toBe(400);
    expect(badRole.body.error.details[0].target).toBe("role");
    const extra = await t.admin.post("/api/keys", { role: "GlobalReader", tenantId: "elsewhere" });
    expect(extra.status).toBe(400);
    expect((await t.admin.get("/api/keys")).body.value).toHaveLength(5);
  });

  it("DELETE /api/keys/{id} revokes: the key then gets 401, other keys keep working", async () => {
    const t = await newTenant();
    const issued = await t.admin.post("/api/keys", { role: "UserAdministrator" });
    const key = issued.body.key as string;
    expect((await call(key, "GET", "/v1.0/users")).status).toBe(200); // warm any key cache

    const revoked = await t.admin.delete(`/api/keys/${issued.body.id}`);
    expect(revoked.status).toBe(204);
    const after = await call(key, "GET", "/v1.0/users");
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("InvalidAuthenticationToken");
    expect((await call(key, "POST", "/v1.0/users", {})).status).toBe(401);

    const listed = (await t.admin.get("/api/keys")).body.value.find((k: { id: string }) => k.id === issued.body.id);
    expect(Date.parse(listed.revokedAt)).not.toBeNaN();
    expect((await t.as("UserAdministrator").get("/v1.0/users")).status).toBe(200);

    const again = await t.admin.delete(`/api/keys/${issued.body.id}`);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe("Request_ResourceNotFound");
  });

  it("key creation and revocation leave audit rows", async () => {
    const t = await newTenant();
    const issued = await t.admin.post("/api/keys", { role: "GlobalReader", name: "audited" });
    expect((await t.admin.delete(`/api/keys/${issued.body.id}`)).status).toBe(204);

    const res = await t.as("GlobalReader").get("/v1.0/auditLogs/directoryAudits");
    expect(res.status).toBe(200);
    const rows = res.body.value as Audit[];
    const added = rows.find((a) => a.activityDisplayName === "Add API key");
    expect(added).toBeDefined();
    expect(added!.targetResources[0]!.id).toBe(issued.body.id);
    expect(added!.additionalDetails).toContainEqual({ key: "role", value: "GlobalReader" });
    const deleted = rows.find((a) => a.activityDisplayName === "Delete API key");
    expect(deleted!.targetResources[0]!.id).toBe(issued.body.id);
    expect(JSON.stringify(rows)).not.toContain(issued.body.key);

    // Another tenant's audit log has none of it.
    const other = await newTenant();
    const otherRows = (await other.admin.get("/v1.0/auditLogs/directoryAudits")).body.value as Audit[];
    expect(otherRows.some((a) => a.targetResources.some((r) => r.id === issued.body.id))).toBe(false);
  });
});
