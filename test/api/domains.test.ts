import { describe, expect, it } from "vitest";
import { newTenant, newUser } from "../helpers/api.ts";

// Graph's texts (docs/graph-errors-research.md): a UPN outside the tenant's verified domains, and a malformed one.
const NOT_VERIFIED =
  "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.";
const INVALID_UPN = "Property userPrincipalName is invalid.";
const TAKEN = "Another object with the same value for property id already exists.";

const uniq = () => Math.random().toString(36).slice(2, 10);
const body = (upn: string) => ({
  accountEnabled: true,
  displayName: "D",
  mailNickname: `d${uniq()}`,
  userPrincipalName: upn,
});

describe("domains", () => {
  it("every tenant has an initial domain and the verified domains it was created with, in Graph's shape", async () => {
    const t = await newTenant();
    const res = await t.as("GlobalReader").get("/v1.0/domains");
    expect(res.status).toBe(200);
    const [initial, own] = res.body.value;
    expect(initial).toMatchObject({
      isInitial: true,
      isDefault: false,
      isVerified: true,
      authenticationType: "Managed",
    });
    expect(initial.id).toMatch(/^contoso-[0-9a-f]{6}\.onseatflow\.local$/);
    expect(own).toMatchObject({ id: t.domain, isInitial: false, isDefault: true, isVerified: true, isRoot: true });
    expect((await t.admin.get(`/v1.0/domains/${t.domain.toUpperCase()}`)).body.id).toBe(t.domain);
    expect((await t.admin.get("/v1.0/domains/nowhere.example")).status).toBe(404);
    // The initial domain takes users too.
    expect((await t.admin.post("/v1.0/users", body(`first@${initial.id}`))).status).toBe(201);
  });

  it("refuses a userPrincipalName outside the tenant's verified domains, or malformed, on create and on rename", async () => {
    const t = await newTenant();
    const outside = await t.admin.post("/v1.0/users", body(`adele@${uniq()}.example`));
    expect(outside.status).toBe(400);
    expect(outside.body.error).toMatchObject({ code: "Request_BadRequest", message: NOT_VERIFIED });
    expect(outside.body.error.details).toEqual([
      { code: "InvalidValue", target: "userPrincipalName", message: NOT_VERIFIED },
    ]);
    for (const bad of [`a/b@${t.domain}`, `a b@${t.domain}`, `adele.@${t.domain}`, `${"x".repeat(65)}@${t.domain}`]) {
      const res = await t.admin.post("/v1.0/users", body(bad));
      expect(res.status, bad).toBe(400);
      expect(res.body.error.message, bad).toBe(INVALID_UPN);
    }
    const id = await newUser(t.admin);
    const rename = await t.admin.patch(`/v1.0/users/${id}`, { userPrincipalName: `x@${uniq()}.example` });
    expect(rename.status).toBe(400);
    expect(rename.body.error.message).toBe(NOT_VERIFIED);
    // Case does not matter in the domain.
    expect((await t.admin.post("/v1.0/users", body(`Mixed@${t.domain.toUpperCase()}`))).status).toBe(201);
    expect((await t.admin.get("/v1.0/users?$select=userPrincipalName")).body.value).toHaveLength(2);
  });

  it("a domain belongs to one tenant: another can neither add it nor create users in it", async () => {
    const home = await newTenant();
    const other = await newTenant();
    const taken = await other.admin.post("/api/domains", { id: home.domain });
    expect(taken.status).toBe(400);
    expect(taken.body.error.message).toBe(TAKEN);
    // Its own tenant cannot add it twice either, and the refusal changes nothing.
    const before = (await home.admin.get("/v1.0/domains")).body.value;
    const again = await home.admin.post("/api/domains", { id: home.domain, isDefault: false });
    expect(again.status).toBe(400);
    expect(again.body.error.message).toBe(TAKEN);
    expect((await home.admin.get("/v1.0/domains")).body.value).toEqual(before);
    const user = await other.admin.post("/v1.0/users", body(`adelev@${home.domain}`));
    expect(user.status).toBe(400);
    expect(user.body.error.message).toBe(NOT_VERIFIED);
  });

  it("adds, makes default and removes domains; refuses to remove the initial one or one in use", async () => {
    const t = await newTenant();
    const name = `sales-${uniq()}.example`;
    const added = await t.admin.post("/api/domains", { id: name.toUpperCase(), isDefault: true });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ id: name, isDefault: true, isVerified: true, isInitial: false });
    const listed = (await t.admin.get("/v1.0/domains")).body.value as { id: string; isDefault: boolean }[];
    expect(listed.filter((d) => d.isDefault).map((d) => d.id)).toEqual([name]);

    const userId = await newUser(t.admin, { userPrincipalName: `rep@${name}` });
    const inUse = await t.admin.delete(`/api/domains/${name}`);
    expect(inUse.status).toBe(400);
    expect(inUse.body.error.message).toContain("userPrincipalName");
    expect((await t.admin.patch(`/v1.0/users/${userId}`, { userPrincipalName: `rep@${t.domain}` })).status).toBe(204);
    expect((await t.admin.delete(`/api/domains/${name}`)).status).toBe(204);
    const after = (await t.admin.get("/v1.0/domains")).body.value as {
      id: string;
      isDefault: boolean;
      isInitial: boolean;
    }[];
    expect(after.map((d) => d.id)).not.toContain(name);
    // The default went back to the initial domain.
    expect(after.find((d) => d.isDefault)?.isInitial).toBe(true);

    const initial = after.find((d) => d.isInitial)!;
    const keep = await t.admin.delete(`/api/domains/${initial.id}`);
    expect(keep.status).toBe(400);
    expect(keep.body.error.message).toBe("The initial domain of a tenant cannot be removed.");
    const audits = await t.admin.get("/v1.0/auditLogs/directoryAudits?$filter=category eq 'DirectoryManagement'");
    const activities = (audits.body.value as { activityDisplayName: string }[]).map((a) => a.activityDisplayName);
    expect(activities).toEqual(expect.arrayContaining(["Add verified domain", "Remove verified domain"]));
  });

  it("refuses malformed domain names and a reader's changes", async () => {
    const t = await newTenant();
    for (const bad of ["localhost", "-bad.example", "a..example", "under_score.example", `${"x".repeat(50)}.example`]) {
      const res = await t.admin.post("/api/domains", { id: bad });
      expect(res.status, bad).toBe(400);
    }
    expect((await t.as("GlobalReader").post("/api/domains", { id: `r-${uniq()}.example` })).status).toBe(403);
    expect((await t.admin.get("/v1.0/domains")).body.value).toHaveLength(2);
  });
});
