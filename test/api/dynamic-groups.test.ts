import { describe, expect, it } from "vitest";
import { buy, newTenant, newUser, SKU } from "../helpers/api.ts";
import { addMembers, assignGroup, eventually, newGroup, processed, states } from "../helpers/groups.ts";

const members = async (api: Awaited<ReturnType<typeof newTenant>>["admin"], groupId: string) =>
  (await api.get(`/v1.0/groups/${groupId}/members?$top=999`)).body.value.map((u: { id: string }) => u.id).sort();

describe("dynamic groups", () => {
  it("a rule that does not parse is a 400 naming the position", async () => {
    const t = await newTenant();
    const res = await t.admin.post("/v1.0/groups", {
      displayName: "Broken",
      mailEnabled: false,
      mailNickname: "broken",
      securityEnabled: true,
      groupTypes: ["DynamicMembership"],
      membershipRule: 'user.department -eq "Sales" -and',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/position \d+/);
    const noRule = await t.admin.post("/v1.0/groups", {
      displayName: "NoRule",
      mailEnabled: false,
      mailNickname: "norule",
      securityEnabled: true,
      groupTypes: ["DynamicMembership"],
    });
    expect(noRule.status).toBe(400);
  });

  it("membership follows the rule, users' changes, and rule changes; licenses follow membership", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 10);
    await buy(t.admin, SKU.EMS, 10);
    const sales = [await newUser(t.admin, { department: "Sales" }), await newUser(t.admin, { department: "sales" })];
    const hr = [await newUser(t.admin, { department: "HR" })];
    const salesGroup = await newGroup(t.admin, {
      groupTypes: ["DynamicMembership"],
      membershipRule: 'user.department -eq "Sales"',
    });
    const hrGroup = await newGroup(t.admin, {
      groupTypes: ["DynamicMembership"],
      membershipRule: 'user.department -eq "HR"',
    });
    await eventually(async () => expect(await members(t.admin, salesGroup)).toEqual([...sales].sort()));
    await eventually(async () => expect(await members(t.admin, hrGroup)).toEqual(hr));
    await assignGroup(t.admin, salesGroup, [{ skuId: SKU.E3 }]);
    await assignGroup(t.admin, hrGroup, [{ skuId: SKU.EMS }]);
    await processed(t.admin, salesGroup);
    await processed(t.admin, hrGroup);
    expect((await states(t.admin, sales[0]!)).assignedLicenses.map((l) => l.skuId)).toEqual([SKU.E3]);

    // Manual membership changes are refused on dynamic groups.
    const manual = await t.admin.post(`/v1.0/groups/${salesGroup}/members/$ref`, {
      "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${hr[0]}`,
    });
    expect(manual.status).toBe(400);

    // A mover: the HR system changes the department; the user moves groups and licenses follow.
    expect((await t.admin.patch(`/v1.0/users/${sales[1]}`, { department: "HR" })).status).toBe(204);
    await eventually(async () => {
      expect((await states(t.admin, sales[1]!)).assignedLicenses.map((l) => l.skuId)).toEqual([SKU.EMS]);
    });
    expect(await members(t.admin, hrGroup)).toEqual([...hr, sales[1]!].sort());

    // A new user who matches joins at once.
    const joiner = await newUser(t.admin, { department: "Sales" });
    await eventually(async () =>
      expect((await states(t.admin, joiner)).assignedLicenses.map((l) => l.skuId)).toEqual([SKU.E3]),
    );

    // Changing the rule re-evaluates everyone through the queue.
    expect(
      (await t.admin.patch(`/v1.0/groups/${salesGroup}`, { membershipRule: 'user.department -eq "HR"' })).status,
    ).toBe(204);
    await eventually(async () => {
      expect(await members(t.admin, salesGroup)).toEqual([...hr, sales[1]!].sort());
      expect((await states(t.admin, sales[0]!)).assignedLicenses).toEqual([]);
      expect((await states(t.admin, hr[0]!)).assignedLicenses.map((l) => l.skuId).sort()).toEqual(
        [SKU.E3, SKU.EMS].sort(),
      );
    });
  });

  it("pausing processing freezes membership", async () => {
    const t = await newTenant();
    const group = await newGroup(t.admin, {
      groupTypes: ["DynamicMembership"],
      membershipRule: 'user.jobTitle -startsWith "Engineer"',
      membershipRuleProcessingState: "Paused",
    });
    await newUser(t.admin, { jobTitle: "Engineer II" });
    await new Promise((r) => setTimeout(r, 300));
    expect(await members(t.admin, group)).toEqual([]);
    expect((await t.admin.patch(`/v1.0/groups/${group}`, { membershipRuleProcessingState: "On" })).status).toBe(204);
    await eventually(async () => expect(await members(t.admin, group)).toHaveLength(1));
  });
});

describe("dynamic rule processing status", () => {
  it("reports NotStarted/Running and then Succeeded once the rule has been evaluated", async () => {
    const t = await newTenant();
    await newUser(t.admin, { department: "Ops" });
    const group = await newGroup(t.admin, {
      groupTypes: ["DynamicMembership"],
      membershipRule: 'user.department -eq "Ops"',
    });
    const first = await t.admin.get(`/v1.0/groups/${group}?$select=membershipRuleProcessingStatus`);
    expect(["NotStarted", "Running", "Succeeded"]).toContain(first.body.membershipRuleProcessingStatus.status);
    await eventually(async () => {
      const res = await t.admin.get(`/v1.0/groups/${group}?$select=membershipRuleProcessingStatus`);
      expect(res.body.membershipRuleProcessingStatus).toEqual({ status: "Succeeded" });
    });
    expect(await members(t.admin, group)).toHaveLength(1);
    const staticGroup = await newGroup(t.admin);
    const res = await t.admin.get(`/v1.0/groups/${staticGroup}?$select=membershipRuleProcessingStatus`);
    expect(res.body.membershipRuleProcessingStatus).toBeNull();
  });
});

describe("audit of bulk changes", () => {
  type Audit = {
    activityDisplayName: string;
    operationType: string;
    initiatedBy: { app: { displayName: string } };
    targetResources: Record<string, unknown>[];
  };
  const audits = async (api: Awaited<ReturnType<typeof newTenant>>["admin"], userId: string, activity: string) =>
    (
      await api.get(
        `/v1.0/auditLogs/directoryAudits?$filter=targetResources/any(t:t/id eq '${userId}') and activityDisplayName eq '${activity}'`,
      )
    ).body.value as Audit[];

  it("dynamic membership and group jobs record the same entries as one change made through the API", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 5);
    const viaApi = await newUser(t.admin, { department: "Ops" });
    const viaRule = await newUser(t.admin, { department: "Sales" });
    const staticGroup = await newGroup(t.admin);
    await addMembers(t.admin, staticGroup, [viaApi]);
    const dynamicGroup = await newGroup(t.admin, {
      groupTypes: ["DynamicMembership"],
      membershipRule: 'user.department -eq "Sales"',
    });
    await eventually(async () => expect(await members(t.admin, dynamicGroup)).toEqual([viaRule]));
    const [manual] = await audits(t.admin, viaApi, "Add member to group");
    const [ruled] = await audits(t.admin, viaRule, "Add member to group");
    expect(ruled!.initiatedBy.app.displayName).toBe("Microsoft Entra ID Dynamic Membership");
    expect(ruled!.operationType).toBe(manual!.operationType);
    const user = (await t.admin.get(`/v1.0/users/${viaRule}`)).body;
    expect(ruled!.targetResources).toEqual([
      {
        ...manual!.targetResources[0],
        id: viaRule,
        displayName: user.displayName,
        userPrincipalName: user.userPrincipalName,
      },
      { ...manual!.targetResources[1], id: dynamicGroup, displayName: expect.any(String) },
    ]);

    // A group job's "Change user license" has the shape of a direct assignment's.
    await t.admin.post(`/v1.0/users/${viaApi}/assignLicense`, {
      addLicenses: [{ skuId: SKU.E3, disabledPlans: [] }],
      removeLicenses: [],
    });
    await assignGroup(t.admin, dynamicGroup, [{ skuId: SKU.E3 }]);
    await processed(t.admin, dynamicGroup);
    const [direct] = await audits(t.admin, viaApi, "Change user license");
    const [grouped] = await audits(t.admin, viaRule, "Change user license");
    expect(grouped!.initiatedBy.app.displayName).not.toBe(direct!.initiatedBy.app.displayName);
    expect(Object.keys(grouped!).sort()).toEqual(Object.keys(direct!).sort());
    expect(grouped!.targetResources).toEqual([
      {
        ...direct!.targetResources[0],
        id: viaRule,
        displayName: user.displayName,
        userPrincipalName: user.userPrincipalName,
      },
    ]);
  });
});
