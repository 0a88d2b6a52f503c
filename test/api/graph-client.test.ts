import { GraphError, PageIterator } from "@microsoft/microsoft-graph-client";
import { describe, expect, it } from "vitest";
import { BASE, buy, newTenant, newUser, PLAN, SKU } from "../helpers/api.ts";
import { graphClient } from "../helpers/graph-client.ts";

/** Runs `fn` expecting the SDK to throw a GraphError, and returns it. */
async function graphFailure(fn: () => Promise<unknown>): Promise<GraphError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphError);
    return error as GraphError;
  }
  throw new Error("expected the Graph SDK call to fail");
}

describe("the official Microsoft Graph JavaScript SDK against seatflow", () => {
  it("lists subscribedSkus, creates a user, assigns a license and reads licenseDetails", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 3);
    await buy(t.admin, SKU.EMS, 2);
    const { client, sent } = graphClient(t.keys.GlobalAdministrator);

    const skus = await client.api("/subscribedSkus").get();
    expect(skus["@odata.context"]).toBe(`${BASE}/v1.0/$metadata#subscribedSkus`);
    const bySku = new Map(skus.value.map((s: any) => [s.skuId, s]));
    expect([...bySku.keys()].sort()).toEqual([SKU.E3, SKU.EMS].sort());
    expect((bySku.get(SKU.E3) as any).prepaidUnits.enabled).toBe(3);
    expect((bySku.get(SKU.E3) as any).consumedUnits).toBe(0);
    // The SDK built the URL from baseUrl + defaultVersion, and our middleware carried the request to the Worker.
    expect(sent[0]).toEqual({ method: "GET", url: `${BASE}/v1.0/subscribedSkus` });

    const created = await client.api("/users").post({
      accountEnabled: true,
      displayName: "Adele Vance",
      mailNickname: "AdeleV",
      userPrincipalName: `AdeleV@${t.domain}`,
      passwordProfile: { forceChangePasswordNextSignIn: true, password: "xWwvJ]6NMw+bWH-d" },
      usageLocation: "US",
    });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.userPrincipalName).toBe(`adelev@${t.domain}`);
    expect(created.displayName).toBe("Adele Vance");
    expect(created).not.toHaveProperty("passwordProfile");
    expect(sent.at(-1)).toEqual({ method: "POST", url: `${BASE}/v1.0/users` });

    const assigned = await client.api(`/users/${created.id}/assignLicense`).post({
      addLicenses: [{ skuId: SKU.E3, disabledPlans: [PLAN.SWAY] }],
      removeLicenses: [],
    });
    expect(assigned.id).toBe(created.id);

    const details = await client.api(`/users/${created.id}/licenseDetails`).get();
    expect(details.value).toHaveLength(1);
    expect(details.value[0].skuId).toBe(SKU.E3);
    expect(details.value[0].skuPartNumber).toBe("ENTERPRISEPACK");
    expect(details.value[0].servicePlans.find((p: any) => p.servicePlanId === PLAN.SWAY).provisioningStatus).toBe(
      "Disabled",
    );

    // Addressed by userPrincipalName, with the SDK's $select builder.
    const user = await client.api(`/users/AdeleV@${t.domain}`).select(["id", "assignedLicenses"]).get();
    expect(user.id).toBe(created.id);
    expect(user.assignedLicenses).toEqual([{ disabledPlans: [PLAN.SWAY], skuId: SKU.E3 }]);

    const after = await client.api("/subscribedSkus").get();
    expect(after.value.find((s: any) => s.skuId === SKU.E3).consumedUnits).toBe(1);
    expect(after.value.find((s: any) => s.skuId === SKU.EMS).consumedUnits).toBe(0);
  });

  it("swaps licenses in one call and filters users by license with the SDK's query builders", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 1);
    await buy(t.admin, SKU.SPB, 1);
    const { client } = graphClient(t.keys.GlobalAdministrator);
    const user = await client.api("/users").post({
      accountEnabled: true,
      displayName: "Alex Wilber",
      mailNickname: "alexw",
      userPrincipalName: `alexw@${t.domain}`,
      passwordProfile: { password: "long-enough-1!", forceChangePasswordNextSignIn: false },
      usageLocation: "GB",
    });
    await client.api(`/users/${user.id}/assignLicense`).post({ addLicenses: [{ skuId: SKU.E3 }], removeLicenses: [] });
    await client
      .api(`/users/${user.id}/assignLicense`)
      .post({ addLicenses: [{ skuId: SKU.SPB, disabledPlans: [] }], removeLicenses: [SKU.E3] });

    const withSpb = await client
      .api("/users")
      .filter(`assignedLicenses/any(x:x/skuId eq ${SKU.SPB})`)
      .select("id,userPrincipalName")
      .get();
    expect(withSpb.value).toEqual([{ id: user.id, userPrincipalName: `alexw@${t.domain}` }]);
    const withE3 = await client.api("/users").filter(`assignedLicenses/any(x:x/skuId eq ${SKU.E3})`).get();
    expect(withE3.value).toEqual([]);

    // PATCH through the SDK (204 → undefined) is visible on the next read.
    expect(await client.api(`/users/${user.id}`).update({ department: "Retail" })).toBeUndefined();
    expect((await client.api(`/users/${user.id}`).select("department").get()).department).toBe("Retail");
  });

  it("surfaces seatflow's Graph error envelope as a GraphError (SKU the tenant does not hold)", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EMS, 1);
    const { client } = graphClient(t.keys.GlobalAdministrator);
    const user = await client.api("/users").post({
      accountEnabled: true,
      displayName: "Megan Bowen",
      mailNickname: "meganb",
      userPrincipalName: `meganb@${t.domain}`,
      passwordProfile: { password: "long-enough-1!" },
      usageLocation: "US",
    });
    const error = await graphFailure(() =>
      client
        .api(`/users/${user.id}/assignLicense`)
        .post({ addLicenses: [{ skuId: SKU.E3, disabledPlans: [] }], removeLicenses: [] }),
    );
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe("Request_BadRequest");
    expect(error.message).toBe(`License ${SKU.E3} does not correspond to a valid company License.`);
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    // Nothing was assigned.
    const details = await client.api(`/users/${user.id}/licenseDetails`).get();
    expect(details.value).toEqual([]);
  });

  it("pages 25 users with PageIterator over https: the Worker builds https nextLinks from the request URL", async () => {
    const t = await newTenant();
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push(await newUser(t.admin));
    // As `npm start -- --https` serves it: the SDK follows an absolute nextLink only on an https host.
    const base = "https://seatflow.test";
    const { client, sent } = graphClient(t.keys.GlobalReader, base);

    const first = await client.api("/users").select("id,displayName").top(10).get();
    expect(first.value).toHaveLength(10);
    expect(first["@odata.nextLink"]).toMatch(/^https:\/\/seatflow\.test\/v1\.0\/users\?/);
    const seen: string[] = [];
    const iterator = new PageIterator(client, first, (user: { id: string; displayName: string }) => {
      seen.push(user.id);
      expect(Object.keys(user).sort()).toEqual(["displayName", "id"]);
      return true;
    });
    await iterator.iterate();

    expect(iterator.isComplete()).toBe(true);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect([...seen].sort()).toEqual([...ids].sort());
    // Three pages, every one over https to the Worker; the follow-ups keep $select and $top and carry a $skiptoken.
    expect(sent).toHaveLength(3);
    for (const request of sent) expect(request.url.startsWith(`${base}/v1.0/users?`)).toBe(true);
    for (const request of sent.slice(1)) {
      const query = new URL(request.url).searchParams;
      expect(query.get("$skiptoken")).toBeTruthy();
      expect(query.get("$top")).toBe("10");
      expect(query.get("$select")).toBe("id,displayName");
    }
  });

  it("maps 404 and 401 through the SDK too", async () => {
    const t = await newTenant();
    const { client } = graphClient(t.keys.GlobalReader);
    const missing = await graphFailure(() => client.api(`/users/nobody@${t.domain}`).get());
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe("Request_ResourceNotFound");

    const denied = await graphFailure(() =>
      client.api("/users").post({
        accountEnabled: true,
        displayName: "Reader Cannot",
        mailNickname: "readercannot",
        userPrincipalName: `readercannot@${t.domain}`,
      }),
    );
    expect(denied.statusCode).toBe(403);
    expect(denied.code).toBe("Authorization_RequestDenied");

    const anonymous = graphClient("sf_not_a_real_key").client;
    const unauthenticated = await graphFailure(() => anonymous.api("/subscribedSkus").get());
    expect(unauthenticated.statusCode).toBe(401);
    expect(unauthenticated.code).toBe("InvalidAuthenticationToken");
  });
});
