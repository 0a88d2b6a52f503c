import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { makeCtx } from "../../functions/core/context.ts";
import { changeUserLicensing } from "../../functions/licensing/actions.ts";
import { planDirectChange } from "../../functions/licensing/direct-rules.ts";
import { fingerprintAfter, readUserLicensing, toSourceRow } from "../../functions/licensing/store.ts";
import { assign, buy, newTenant, newUser, PLAN, SKU } from "../helpers/api.ts";
import { addMembers, assignGroup, newGroup, processed } from "../helpers/groups.ts";

const seats = async (api: Awaited<ReturnType<typeof newTenant>>["admin"], skuId: string) => {
  const res = await api.get("/v1.0/subscribedSkus");
  return res.body.value.find((s: { skuId: string }) => s.skuId === skuId);
};

describe("POST /v1.0/users/{id}/assignLicense", () => {
  it("assigns a SKU with disabled plans and shows it in licenseDetails, assignedLicenses and states", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 5);
    const userId = await newUser(t.admin);
    const res = await assign(t.as("LicenseAdministrator"), userId, [{ skuId: SKU.E3, disabledPlans: [PLAN.SWAY] }]);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(userId);

    const details = await t.admin.get(`/v1.0/users/${userId}/licenseDetails`);
    expect(details.status).toBe(200);
    expect(details.body.value).toHaveLength(1);
    const detail = details.body.value[0];
    expect(detail.skuPartNumber).toBe("ENTERPRISEPACK");
    expect(detail.servicePlans.find((p: any) => p.servicePlanId === PLAN.SWAY).provisioningStatus).toBe("Disabled");
    expect(detail.servicePlans.filter((p: any) => p.provisioningStatus === "Success").length).toBe(
      detail.servicePlans.length - 1,
    );

    const user = await t.admin.get(
      `/v1.0/users/${userId}?$select=assignedLicenses,assignedPlans,licenseAssignmentStates`,
    );
    expect(user.body.assignedLicenses).toEqual([{ disabledPlans: [PLAN.SWAY], skuId: SKU.E3 }]);
    expect(user.body.licenseAssignmentStates).toEqual([
      expect.objectContaining({
        assignedByGroup: null,
        disabledPlans: [PLAN.SWAY],
        error: "None",
        skuId: SKU.E3,
        state: "Active",
      }),
    ]);
    expect(user.body.assignedPlans.some((p: any) => p.servicePlanId === PLAN.SWAY)).toBe(false);
    expect(user.body.assignedPlans.find((p: any) => p.servicePlanId === PLAN.EXCHANGE_S_ENTERPRISE).service).toBe(
      "exchange",
    );
    expect((await seats(t.admin, SKU.E3)).consumedUnits).toBe(1);
  });

  it("addresses users by userPrincipalName too", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EMS, 1);
    const userId = await newUser(t.admin, { userPrincipalName: `Adele.Vance@${t.domain}`, mailNickname: "adele" });
    const res = await assign(t.admin, `adele.vance@${t.domain}`, [{ skuId: SKU.EMS }]);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(userId);
  });

  it("re-assigning with new disabledPlans replaces the list and takes no second seat", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 1);
    const userId = await newUser(t.admin);
    expect((await assign(t.admin, userId, [{ skuId: SKU.E3, disabledPlans: [PLAN.SWAY] }])).status).toBe(200);
    expect(
      (await assign(t.admin, userId, [{ skuId: SKU.E3, disabledPlans: [PLAN.SHAREPOINTENTERPRISE] }])).status,
    ).toBe(200);
    const user = await t.admin.get(`/v1.0/users/${userId}?$select=assignedLicenses`);
    expect(user.body.assignedLicenses).toEqual([{ disabledPlans: [PLAN.SHAREPOINTENTERPRISE], skuId: SKU.E3 }]);
    expect((await seats(t.admin, SKU.E3)).consumedUnits).toBe(1);
  });

  it("refuses a user without usage location with Graph's text, and changes nothing", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 1);
    const userId = await newUser(t.admin, { usageLocation: null });
    const res = await assign(t.admin, userId, [{ skuId: SKU.E3 }]);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("Request_BadRequest");
    expect(res.body.error.message).toBe("License assignment cannot be done for user with invalid usage location.");
    expect(res.body.error.innerError["request-id"]).toBeTruthy();
    expect((await seats(t.admin, SKU.E3)).consumedUnits).toBe(0);
  });

  it("refuses a SKU the tenant does not hold", async () => {
    const t = await newTenant();
    const userId = await newUser(t.admin);
    const res = await assign(t.admin, userId, [{ skuId: SKU.E3 }]);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(`License ${SKU.E3} does not correspond to a valid company License.`);
  });

  it("refuses when no seat is left, naming the SKU", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EMS, 1);
    const a = await newUser(t.admin);
    const b = await newUser(t.admin);
    expect((await assign(t.admin, a, [{ skuId: SKU.EMS }])).status).toBe(200);
    const res = await assign(t.admin, b, [{ skuId: SKU.EMS }]);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(`Subscription with SKU ${SKU.EMS} does not have any available licenses.`);
  });

  it("refuses mutually exclusive plans (Exchange Plan 1 with Plan 2)", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EXCHANGE_P1, 1);
    await buy(t.admin, SKU.E3, 1);
    const userId = await newUser(t.admin);
    expect((await assign(t.admin, userId, [{ skuId: SKU.E3 }])).status).toBe(200);
    const res = await assign(t.admin, userId, [{ skuId: SKU.EXCHANGE_P1 }]);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(
      `License assignment failed because service plans ${PLAN.EXCHANGE_S_STANDARD},${PLAN.EXCHANGE_S_ENTERPRISE} are mutually exclusive.`,
    );
    // With Exchange Plan 2 turned off in E3, the two can be held together.
    const ok = await assign(t.admin, userId, [
      { skuId: SKU.E3, disabledPlans: [PLAN.EXCHANGE_S_ENTERPRISE] },
      { skuId: SKU.EXCHANGE_P1 },
    ]);
    expect(ok.status).toBe(200);
  });

  it("refuses a plan whose prerequisite is missing, and a removal that strands a dependent plan", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.AUDIO_CONF, 2);
    await buy(t.admin, SKU.E3, 2);
    const userId = await newUser(t.admin);
    const alone = await assign(t.admin, userId, [{ skuId: SKU.AUDIO_CONF }]);
    expect(alone.status).toBe(400);
    expect(alone.body.error.message).toBe(
      `License assignment failed because service plan ${PLAN.MCOMEETADV} depends on the service plan(s) ${PLAN.MCOSTANDARD}`,
    );
    expect((await assign(t.admin, userId, [{ skuId: SKU.E3 }, { skuId: SKU.AUDIO_CONF }])).status).toBe(200);
    const strand = await assign(t.admin, userId, [], [SKU.E3]);
    expect(strand.status).toBe(400);
    expect(strand.body.error.message).toContain(`service plan ${PLAN.MCOMEETADV} depends on`);
    const user = await t.admin.get(`/v1.0/users/${userId}?$select=assignedLicenses`);
    expect(user.body.assignedLicenses.map((l: any) => l.skuId).sort()).toEqual([SKU.AUDIO_CONF, SKU.E3].sort());
  });

  it("refuses Project Online without SharePoint (Plan 2)", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.PROJECT_PREMIUM, 1);
    const userId = await newUser(t.admin);
    const res = await assign(t.admin, userId, [
      { skuId: SKU.PROJECT_PREMIUM, disabledPlans: [PLAN.SHAREPOINTENTERPRISE] },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(
      `License assignment failed because service plan ${PLAN.SHAREPOINT_PROJECT} depends on the service plan(s) ${PLAN.SHAREPOINTENTERPRISE}`,
    );
  });

  it("swaps one SKU for another in one call without a gap, freeing the old seat", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 1);
    await buy(t.admin, SKU.SPB, 1);
    const userId = await newUser(t.admin);
    expect((await assign(t.admin, userId, [{ skuId: SKU.E3 }])).status).toBe(200);
    const before = await t.admin.get(`/v1.0/users/${userId}?$select=assignedLicenses`);
    expect(before.body.assignedLicenses.map((l: any) => l.skuId)).toEqual([SKU.E3]);
    const swap = await assign(t.admin, userId, [{ skuId: SKU.SPB }], [SKU.E3]);
    expect(swap.status).toBe(200);
    const after = await t.admin.get(`/v1.0/users/${userId}?$select=assignedLicenses`);
    expect(after.body.assignedLicenses.map((l: any) => l.skuId)).toEqual([SKU.SPB]);
    expect((await seats(t.admin, SKU.E3)).consumedUnits).toBe(0);
    expect((await seats(t.admin, SKU.SPB)).consumedUnits).toBe(1);
  });

  it("a failed swap leaves the old license in place", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 1);
    await buy(t.admin, SKU.SPB, 0);
    const userId = await newUser(t.admin);
    await assign(t.admin, userId, [{ skuId: SKU.E3 }]);
    const swap = await assign(t.admin, userId, [{ skuId: SKU.SPB }], [SKU.E3]);
    expect(swap.status).toBe(400);
    const after = await t.admin.get(`/v1.0/users/${userId}?$select=assignedLicenses`);
    expect(after.body.assignedLicenses.map((l: any) => l.skuId)).toEqual([SKU.E3]);
  });

  it("validates the body with field-level messages", async () => {
    const t = await newTenant();
    const userId = await newUser(t.admin);
    const missing = await t.admin.post(`/v1.0/users/${userId}/assignLicense`, { addLicenses: [] });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain("removeLicenses");
    const badGuid = await t.admin.post(`/v1.0/users/${userId}/assignLicense`, {
      addLicenses: [{ skuId: "nope" }],
      removeLicenses: [],
    });
    expect(badGuid.status).toBe(400);
    expect(badGuid.body.error.details[0].target).toBe("addLicenses.0.skuId");
    const malformed = await t.admin.post(`/v1.0/users/${userId}/assignLicense`, "{not json");
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("Request_BadRequest");
  });

  it("removing a license the user does not have is refused", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 1);
    const userId = await newUser(t.admin);
    const res = await assign(t.admin, userId, [], [SKU.E3]);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe("User does not have a corresponding license.");
  });

  it("a user that does not exist is a 404", async () => {
    const t = await newTenant();
    const res = await assign(t.admin, "00000000-0000-0000-0000-000000000001", []);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("Request_ResourceNotFound");
  });

  it("remembers a change's sources with the fingerprint they are stored with, direct and inherited alike", async () => {
    // The next change starts from what this one remembered, and its guard compares the stored sources' fingerprint
    // with the remembered one: computed apart, every follow-up change would fail its guard and read again.
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 5);
    await buy(t.admin, SKU.EMS, 5);
    const userId = await newUser(t.admin);
    const groupId = await newGroup(t.admin);
    await addMembers(t.admin, groupId, [userId]);
    await assignGroup(t.admin, groupId, [{ skuId: SKU.E3, disabledPlans: [PLAN.SWAY] }]);
    await processed(t.admin, groupId);
    const role = "LicenseAdministrator";
    const ctx = makeCtx(env, t.id, { kind: "apiKey", keyId: "test", name: "test", role, operator: false });
    const request = {
      addLicenses: [
        { skuId: SKU.E3, disabledPlans: [PLAN.SWAY, PLAN.SHAREPOINTENTERPRISE] },
        { skuId: SKU.EMS, disabledPlans: [] },
      ],
      removeLicenses: [],
    };
    const { snapshot, result } = await changeUserLicensing(ctx, userId, {
      extraSkuIds: [SKU.E3, SKU.EMS],
      intents: (s) => planDirectChange(s, request, role),
    });
    const fresh = await readUserLicensing(ctx, userId, []);
    expect(fresh?.sources).toHaveLength(3);
    expect(fingerprintAfter(snapshot.seqs, result.sources.map(toSourceRow))).toBe(fresh?.sourcesFingerprint);
    expect(fingerprintAfter(fresh!.seqs, fresh!.sources)).toBe(fresh?.sourcesFingerprint);
  });
});
