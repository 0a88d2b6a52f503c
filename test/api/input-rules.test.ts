import { describe, expect, it } from "vitest";
import { assign, buy, newTenant, newUser, SKU } from "../helpers/api.ts";
import { addMembers, assignGroup, newGroup, processed } from "../helpers/groups.ts";

// Graph's texts: "Invalid value specified for property '…' of resource '…'." for a refused value (Graph answers it for
// an empty or malformed displayName, department and the like) and "Property usageLocation is invalid." (HTTP 400, the
// Okta KB on Office 365 provisioning, for `UK` instead of `GB`): docs/graph-errors-research.md.
const invalidValue = (property: string, resource: string) =>
  `Invalid value specified for property '${property}' of resource '${resource}'.`;
const INVALID_USAGE_LOCATION = "Property usageLocation is invalid.";

const uniq = () => Math.random().toString(36).slice(2, 10);

describe("text every body carries", () => {
  it("refuses lone surrogates and control characters in any string of any route's body, naming the property", async () => {
    const t = await newTenant();
    const userId = await newUser(t.admin);
    const nick = `n${uniq()}`;
    const user = (fields: Record<string, unknown>) => ({
      accountEnabled: true,
      displayName: "D",
      mailNickname: nick,
      userPrincipalName: `${nick}@${t.domain}`,
      ...fields,
    });
    const group = { mailEnabled: false, mailNickname: `g${uniq()}`, securityEnabled: true };
    const cases: [string, string, Record<string, unknown>, string, string][] = [
      ["POST", "/v1.0/users", user({ displayName: "Bad \ud800" }), "displayName", "User"],
      ["POST", "/v1.0/users", user({ displayName: "Nul\u0000" }), "displayName", "User"],
      ["POST", "/v1.0/users", user({ jobTitle: "Line\nbreak" }), "jobTitle", "User"],
      ["PATCH", `/v1.0/users/${userId}`, { department: "Sales\u001b[31m" }, "department", "User"],
      ["POST", "/v1.0/groups", { ...group, displayName: "G\udc00" }, "displayName", "Group"],
      [
        "POST",
        "/api/subscriptions",
        { skuPartNumber: "ENTERPRISEPACK\u0007", totalLicenses: 1 },
        "skuPartNumber",
        "Subscription",
      ],
    ];
    for (const [method, path, body, property, resource] of cases) {
      const res = method === "POST" ? await t.admin.post(path, body) : await t.admin.patch(path, body);
      expect(res.status, `${method} ${path} ${property}`).toBe(400);
      expect(res.body.error.code).toBe("Request_BadRequest");
      expect(res.body.error.message).toBe(invalidValue(property, resource));
      expect(res.body.error.details[0]).toMatchObject({ code: "InvalidValue", target: property });
    }
    // Nothing was written: the one user (unchanged), no group, no subscription.
    expect((await t.admin.get("/v1.0/users?$count=true", { ConsistencyLevel: "eventual" })).body["@odata.count"]).toBe(
      1,
    );
    expect((await t.admin.get(`/v1.0/users/${userId}?$select=department`)).body.department).toBeNull();
    expect((await t.admin.get("/v1.0/groups")).body.value).toEqual([]);
    expect((await t.admin.get("/v1.0/subscribedSkus")).body.value).toEqual([]);
  });

  it("keeps well-formed Unicode as sent, and line breaks where admins paste paragraphs (a description)", async () => {
    const t = await newTenant();
    const name = "Zoë 🎉 Ünïcødé 日本語";
    const id = await newUser(t.admin, { displayName: name });
    expect((await t.admin.get(`/v1.0/users/${id}?$select=displayName`)).body.displayName).toBe(name);
    const group = await t.admin.post("/v1.0/groups", {
      displayName: "Sales",
      description: "Line one\nLine two\tand a tab",
      mailEnabled: false,
      mailNickname: `s${uniq()}`,
      securityEnabled: true,
    });
    expect(group.status).toBe(201);
    expect(group.body.description).toBe("Line one\nLine two\tand a tab");
    const audit = await t.admin.get("/v1.0/auditLogs/directoryAudits?$top=5");
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.body)).toContain(name);
  });
});

describe("usageLocation", () => {
  it("takes an assigned ISO 3166-1 alpha-2 code in any case and refuses others with Graph's text", async () => {
    const t = await newTenant();
    const id = await newUser(t.admin, { usageLocation: "de" });
    expect((await t.admin.get(`/v1.0/users/${id}?$select=usageLocation`)).body.usageLocation).toBe("DE");
    for (const bad of ["ZZ", "UK", "EU", "XK", "QZ", "USA", "1A", ""]) {
      const res = await t.admin.patch(`/v1.0/users/${id}`, { usageLocation: bad });
      expect(res.status, bad).toBe(400);
      expect(res.body.error.message, bad).toBe(INVALID_USAGE_LOCATION);
      expect(res.body.error.details[0].target).toBe("usageLocation");
    }
    const nick = `n${uniq()}`;
    const create = await t.admin.post("/v1.0/users", {
      accountEnabled: true,
      displayName: "D",
      mailNickname: nick,
      userPrincipalName: `${nick}@${t.domain}`,
      usageLocation: "ZZ",
    });
    expect(create.status).toBe(400);
    expect(create.body.error.message).toBe(INVALID_USAGE_LOCATION);
    expect((await t.admin.get(`/v1.0/users/${id}?$select=usageLocation`)).body.usageLocation).toBe("DE");
  });

  it("refuses to clear the usage location of a user with direct licenses, and allows it once they are gone", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 5);
    const id = await newUser(t.admin, { usageLocation: "GB" });
    expect((await assign(t.admin, id, [{ skuId: SKU.E3 }])).status).toBe(200);
    const refused = await t.admin.patch(`/v1.0/users/${id}`, { usageLocation: null });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: "Request_BadRequest" });
    expect(refused.body.error.message).toMatch(/usageLocation .* cannot be cleared/);
    expect(refused.body.error.details[0].target).toBe("usageLocation");
    expect((await t.admin.get(`/v1.0/users/${id}?$select=usageLocation`)).body.usageLocation).toBe("GB");
    // Moving the user to another country is fine; so is clearing it once the direct license is gone.
    expect((await t.admin.patch(`/v1.0/users/${id}`, { usageLocation: "FR" })).status).toBe(204);
    expect((await assign(t.admin, id, [], [SKU.E3])).status).toBe(200);
    expect((await t.admin.patch(`/v1.0/users/${id}`, { usageLocation: null })).status).toBe(204);
  });

  it("lets a user licensed only through a group lose the location: groups fall back to the tenant's country", async () => {
    const t = await newTenant("DE");
    await buy(t.admin, SKU.E3, 5);
    const id = await newUser(t.admin, { usageLocation: "GB" });
    const group = await newGroup(t.admin);
    await addMembers(t.admin, group, [id]);
    expect((await assignGroup(t.admin, group, [{ skuId: SKU.E3 }])).status).toBe(202);
    await processed(t.admin, group);
    expect((await t.admin.patch(`/v1.0/users/${id}`, { usageLocation: null })).status).toBe(204);
    // The group's license stays, and a reprocess, which weighs it again on the tenant's country, keeps it active.
    expect((await t.admin.post(`/v1.0/users/${id}/reprocessLicenseAssignment`, {})).status).toBe(200);
    const user = await t.admin.get(`/v1.0/users/${id}?$select=usageLocation,assignedLicenses,licenseAssignmentStates`);
    expect(user.body.usageLocation).toBeNull();
    expect(user.body.assignedLicenses.map((l: { skuId: string }) => l.skuId)).toEqual([SKU.E3]);
    expect(user.body.licenseAssignmentStates).toEqual([
      expect.objectContaining({ skuId: SKU.E3, assignedByGroup: group, state: "Active", error: "None" }),
    ]);
  });

  it("refuses a tenant country that is not an assigned code", async () => {
    const t = await newTenant("US", "Operator", { operator: true });
    const res = await t.admin.post("/api/tenants", { displayName: "Nowhere", country: "ZZ" });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].target).toBe("country");
    expect((await t.admin.post("/api/tenants", { displayName: "Somewhere", country: "nz" })).status).toBe(201);
  });
});
