import { describe, expect, it } from "vitest";
import { assign, buy, newTenant, newUser, PLAN, SKU } from "../helpers/api.ts";
import { addMembers, assignGroup, eventually, newGroup, processed, states } from "../helpers/groups.ts";

const consumed = async (api: Awaited<ReturnType<typeof newTenant>>["admin"], skuId: string) =>
  (await api.get("/v1.0/subscribedSkus")).body.value.find((s: { skuId: string }) => s.skuId === skuId)?.consumedUnits;

describe("group-based licensing", () => {
  it("licenses every member through the queue and reports processing states", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 10);
    const users = [await newUser(t.admin), await newUser(t.admin), await newUser(t.admin, { usageLocation: null })];
    const groupId = await newGroup(t.admin);
    await addMembers(t.admin, groupId, users);
    const res = await assignGroup(t.as("LicenseAdministrator"), groupId, [
      { skuId: SKU.E3, disabledPlans: [PLAN.SWAY] },
    ]);
    expect(res.status).toBe(202);
    expect(res.body.id).toBe(groupId);
    await processed(t.admin, groupId);
    for (const userId of users) {
      const s = await states(t.admin, userId);
      expect(s.assignedLicenses).toEqual([{ skuId: SKU.E3, disabledPlans: [PLAN.SWAY] }]);
      expect(s.licenseAssignmentStates).toEqual([
        expect.objectContaining({ skuId: SKU.E3, assignedByGroup: groupId, state: "Active", error: "None" }),
      ]);
    }
    // The user without a usage location was licensed on the tenant's country, which is never written onto them.
    const noLocation = await t.admin.get(`/v1.0/users/${users[2]}?$select=usageLocation`);
    expect(noLocation.body.usageLocation).toBeNull();
    expect(await consumed(t.admin, SKU.E3)).toBe(3);
    const group = await t.admin.get(`/v1.0/groups/${groupId}?$select=assignedLicenses,licenseProcessingState`);
    expect(group.body.assignedLicenses).toEqual([{ skuId: SKU.E3, disabledPlans: [PLAN.SWAY] }]);
    const audit = await t.admin.get("/v1.0/auditLogs/directoryAudits?$top=50");
    const activities = audit.body.value.map((a: { activityDisplayName: string }) => a.activityDisplayName);
    expect(activities).toContain("Set group license");
    expect(activities).toContain("Start applying group based license to users");
    const finish = audit.body.value.find(
      (a: { activityDisplayName: string }) => a.activityDisplayName === "Finish applying group based license to users",
    );
    expect(finish.additionalDetails[0].value).toBe(
      "Users successfully assigned licenses: 3, Users for whom license assignment failed: 0.",
    );
    expect(activities.filter((a: string) => a === "Change user license").length).toBeGreaterThanOrEqual(3);
  });

  it("the same SKU from two groups and directly consumes one seat and unions the plans", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 5);
    const userId = await newUser(t.admin);
    const g1 = await newGroup(t.admin);
    const g2 = await newGroup(t.admin);
    await addMembers(t.admin, g1, [userId]);
    await addMembers(t.admin, g2, [userId]);
    await assignGroup(t.admin, g1, [{ skuId: SKU.E3, disabledPlans: [PLAN.SWAY, PLAN.SHAREPOINTENTERPRISE] }]);
    await processed(t.admin, g1);
    await assignGroup(t.admin, g2, [{ skuId: SKU.E3, disabledPlans: [PLAN.SWAY, PLAN.MCOSTANDARD] }]);
    await processed(t.admin, g2);
    expect(
      (await assign(t.admin, userId, [{ skuId: SKU.E3, disabledPlans: [PLAN.SWAY, PLAN.EXCHANGE_S_ENTERPRISE] }]))
        .status,
    ).toBe(200);
    const s = await states(t.admin, userId);
    expect(s.licenseAssignmentStates).toHaveLength(3);
    // A plan stays off only where every source turns it off.
    expect(s.assignedLicenses).toEqual([{ skuId: SKU.E3, disabledPlans: [PLAN.SWAY] }]);
    expect(await consumed(t.admin, SKU.E3)).toBe(1);
    // An inherited license cannot be removed on the user; removing the direct one leaves the group sources.
    expect((await assign(t.admin, userId, [], [SKU.E3])).status).toBe(200);
    const afterDirect = await states(t.admin, userId);
    expect(afterDirect.licenseAssignmentStates.map((x) => x.assignedByGroup).sort()).toEqual([g1, g2].sort());
    const inherited = await assign(t.admin, userId, [], [SKU.E3]);
    expect(inherited.status).toBe(400);
    expect(inherited.body.error.message).toBe(
      "User license is inherited from a group membership and it cannot be removed directly from the user.",
    );
  });

  it("seats running out mid-group leave the overflow in CountViolation, and added seats heal them without a reprocess", async () => {
    const t = await newTenant();
    const sub = await buy(t.admin, SKU.EMS, 2);
    const users = [await newUser(t.admin), await newUser(t.admin), await newUser(t.admin), await newUser(t.admin)];
    const groupId = await newGroup(t.admin);
    await addMembers(t.admin, groupId, users);
    await assignGroup(t.admin, groupId, [{ skuId: SKU.EMS }]);
    await processed(t.admin, groupId);
    const all = await Promise.all(users.map((u) => states(t.admin, u)));
    expect(all.filter((s) => s.assignedLicenses.length === 1)).toHaveLength(2);
    const failed = all.filter((s) => s.licenseAssignmentStates[0]?.error === "CountViolation");
    expect(failed).toHaveLength(2);
    expect(failed[0]!.licenseAssignmentStates[0]!.state).toBe("Error");
    const errors = await t.admin.get(`/v1.0/groups/${groupId}/membersWithLicenseErrors`);
    expect(errors.body.value).toHaveLength(2);
    const flagged = await t.admin.get("/v1.0/groups?$filter=hasMembersWithLicenseErrors eq true");
    expect(flagged.body.value.map((g: { id: string }) => g.id)).toEqual([groupId]);
    const audit = await t.admin.get(
      "/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Finish applying group based license to users'",
    );
    expect(audit.body.value[0].additionalDetails[0].value).toBe(
      "Users successfully assigned licenses: 2, Users for whom license assignment failed: 2.",
    );

    expect((await t.admin.patch(`/api/subscriptions/${sub.id}`, { totalLicenses: 4 })).status).toBe(200);
    await eventually(async () => {
      const healed = await Promise.all(users.map((u) => states(t.admin, u)));
      expect(
        healed.every((s) => s.assignedLicenses.length === 1 && s.licenseAssignmentStates[0]!.state === "Active"),
      ).toBe(true);
    });
    expect(await consumed(t.admin, SKU.EMS)).toBe(4);
    const none = await t.admin.get("/v1.0/groups?$filter=hasMembersWithLicenseErrors eq true");
    expect(none.body.value).toEqual([]);
  });

  it("a group with two SKUs applies both or neither to each member", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 3);
    await buy(t.admin, SKU.EMS, 1);
    const users = [await newUser(t.admin), await newUser(t.admin)];
    const groupId = await newGroup(t.admin);
    await addMembers(t.admin, groupId, users);
    await assignGroup(t.admin, groupId, [{ skuId: SKU.E3 }, { skuId: SKU.EMS }]);
    await processed(t.admin, groupId);
    const [a, b] = await Promise.all(users.map((u) => states(t.admin, u)));
    const licensed = [a!, b!].filter((s) => s.assignedLicenses.length === 2);
    const refused = [a!, b!].filter((s) => s.assignedLicenses.length === 0);
    expect(licensed).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const errors = Object.fromEntries(refused[0]!.licenseAssignmentStates.map((x) => [x.skuId, x.error]));
    expect(errors).toEqual({ [SKU.EMS]: "CountViolation", [SKU.E3]: "Other" });
    expect(await consumed(t.admin, SKU.E3)).toBe(1);
  });

  it("leaving the group removes only that source; a direct assignment keeps the user licensed", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 3);
    const [stay, leave] = [await newUser(t.admin), await newUser(t.admin)];
    const groupId = await newGroup(t.admin);
    await addMembers(t.admin, groupId, [stay!, leave!]);
    await assignGroup(t.admin, groupId, [{ skuId: SKU.E3 }]);
    await processed(t.admin, groupId);
    expect((await assign(t.admin, stay!, [{ skuId: SKU.E3 }])).status).toBe(200);
    expect((await t.admin.delete(`/v1.0/groups/${groupId}/members/${stay}/$ref`)).status).toBe(204);
    expect((await t.admin.delete(`/v1.0/groups/${groupId}/members/${leave}/$ref`)).status).toBe(204);
    await eventually(async () => {
      expect((await states(t.admin, leave!)).assignedLicenses).toEqual([]);
      expect((await states(t.admin, stay!)).licenseAssignmentStates).toEqual([
        expect.objectContaining({ assignedByGroup: null, state: "Active" }),
      ]);
    });
    expect(await consumed(t.admin, SKU.E3)).toBe(1);
  });

  it("moving a group from one SKU to another in one call keeps the shared services", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 2);
    await buy(t.admin, SKU.SPB, 2);
    const userId = await newUser(t.admin);
    const groupId = await newGroup(t.admin);
    await addMembers(t.admin, groupId, [userId]);
    await assignGroup(t.admin, groupId, [{ skuId: SKU.E3 }]);
    await processed(t.admin, groupId);
    const swap = await assignGroup(t.admin, groupId, [{ skuId: SKU.SPB }], [SKU.E3]);
    expect(swap.status).toBe(202);
    await processed(t.admin, groupId);
    const s = await states(t.admin, userId);
    expect(s.assignedLicenses.map((l) => l.skuId)).toEqual([SKU.SPB]);
    expect(await consumed(t.admin, SKU.E3)).toBe(0);
    // No moment without Exchange: the member's audit shows one change from E3 straight to SPB.
    const audit = await t.admin.get(
      `/v1.0/auditLogs/directoryAudits?$filter=targetResources/any(t:t/id eq '${userId}') and activityDisplayName eq 'Change user license'`,
    );
    const last = audit.body.value[0].targetResources[0].modifiedProperties[0];
    expect(JSON.parse(last.oldValue).map((l: { skuId: string }) => l.skuId)).toEqual([SKU.E3]);
    expect(JSON.parse(last.newValue).map((l: { skuId: string }) => l.skuId)).toEqual([SKU.SPB]);
  });

  it("refuses what Entra refuses", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 2);
    const userId = await newUser(t.admin);
    const groupId = await newGroup(t.admin);
    await addMembers(t.admin, groupId, [userId]);
    const again = await t.admin.post(`/v1.0/groups/${groupId}/members/$ref`, {
      "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${userId}`,
    });
    expect(again.status).toBe(400);
    expect(again.body.error.message).toBe(
      "One or more added object references already exist for the following modified properties: 'members'.",
    );
    const distribution = await newGroup(t.admin, { securityEnabled: false, mailEnabled: true });
    const notSecurity = await assignGroup(t.admin, distribution, [{ skuId: SKU.E3 }]);
    expect(notSecurity.status).toBe(400);
    await assignGroup(t.admin, groupId, [{ skuId: SKU.E3 }]);
    const del = await t.admin.delete(`/v1.0/groups/${groupId}`);
    expect(del.status).toBe(400);
    expect(del.body.error.message).toContain("delete a group with an active license");
    const guest = await newUser(t.admin, { userType: "Guest" });
    const guestAdd = await t.admin.post(`/v1.0/groups/${groupId}/members/$ref`, {
      "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${guest}`,
    });
    expect(guestAdd.status).toBe(400);
    expect(guestAdd.body.error.message).toContain("guest");
    const unknownSku = await assignGroup(t.admin, groupId, [{ skuId: SKU.EMS }]);
    expect(unknownSku.body.error.message).toBe(`License ${SKU.EMS} does not correspond to a valid company License.`);
    await processed(t.admin, groupId);
    expect((await assignGroup(t.admin, groupId, [], [SKU.E3])).status).toBe(202);
    await processed(t.admin, groupId);
    expect((await states(t.admin, userId)).assignedLicenses).toEqual([]);
    expect((await t.admin.delete(`/v1.0/groups/${groupId}`)).status).toBe(204);
  });
});
