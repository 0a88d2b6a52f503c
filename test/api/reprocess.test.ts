import { describe, expect, it } from "vitest";
import { assign, buy, newTenant, newUser, SKU } from "../helpers/api.ts";
import { addMembers, assignGroup, eventually, newGroup, processed, states } from "../helpers/groups.ts";

/** A member whose group license conflicts with a direct one (Exchange Plan 1 vs Plan 2), and the rule's id. */
async function conflicted() {
  const t = await newTenant();
  await buy(t.admin, SKU.EXCHANGE_P1, 5);
  await buy(t.admin, SKU.E3, 5);
  const users = [await newUser(t.admin), await newUser(t.admin)];
  for (const u of users) expect((await assign(t.admin, u, [{ skuId: SKU.EXCHANGE_P1 }])).status).toBe(200);
  const groupId = await newGroup(t.admin);
  await addMembers(t.admin, groupId, users);
  await assignGroup(t.admin, groupId, [{ skuId: SKU.E3 }]);
  await processed(t.admin, groupId);
  const rules = await t.admin.get("/api/plan-rules");
  const exclusive = rules.body.value.find((r: { kind: string }) => r.kind === "exclusive");
  return { t, users, groupId, ruleId: exclusive.id as string };
}

describe("reprocessing", () => {
  it("errors stay until reprocess: a user reprocess clears an error that no longer applies", async () => {
    const { t, users, ruleId } = await conflicted();
    const before = await states(t.admin, users[0]!);
    const groupState = before.licenseAssignmentStates.find((s) => s.assignedByGroup !== null)!;
    expect(groupState).toMatchObject({ state: "Error", error: "MutuallyExclusiveViolation" });
    // The direct license is untouched by the failing group source.
    expect(before.assignedLicenses.map((l) => l.skuId)).toEqual([SKU.EXCHANGE_P1]);

    expect((await t.admin.delete(`/api/plan-rules/${ruleId}`)).status).toBe(204);
    // Nothing changes by itself: the original intent waits in its error state.
    expect((await states(t.admin, users[0]!)).licenseAssignmentStates.find((s) => s.assignedByGroup)!.state).toBe(
      "Error",
    );
    const res = await t.as("LicenseAdministrator").post(`/v1.0/users/${users[0]}/reprocessLicenseAssignment`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(users[0]);
    const after = await states(t.admin, users[0]!);
    expect(after.licenseAssignmentStates.every((s) => s.state === "Active")).toBe(true);
    expect(after.assignedLicenses.map((l) => l.skuId).sort()).toEqual([SKU.E3, SKU.EXCHANGE_P1].sort());
    // The other member still waits for a reprocess of their own.
    expect((await states(t.admin, users[1]!)).licenseAssignmentStates.find((s) => s.assignedByGroup)!.state).toBe(
      "Error",
    );
  });

  it("a group-wide reprocess heals every member", async () => {
    const { t, users, groupId, ruleId } = await conflicted();
    expect((await t.admin.delete(`/api/plan-rules/${ruleId}`)).status).toBe(204);
    const res = await t.admin.post(`/api/groups/${groupId}/reprocess`);
    expect(res.status).toBe(202);
    expect(res.body.licenseProcessingState).toEqual({ state: "QueuedForProcessing" });
    await processed(t.admin, groupId);
    await eventually(async () => {
      for (const u of users)
        expect((await states(t.admin, u)).licenseAssignmentStates.every((s) => s.state === "Active")).toBe(true);
    });
    const errors = await t.admin.get(`/v1.0/groups/${groupId}/membersWithLicenseErrors`);
    expect(errors.body.value).toEqual([]);
  });

  it("reprocess of an unknown user is a 404 and of another tenant's group is a 404", async () => {
    const t = await newTenant();
    const other = await newTenant();
    const groupId = await newGroup(other.admin);
    expect(
      (await t.admin.post("/v1.0/users/00000000-0000-0000-0000-000000000009/reprocessLicenseAssignment")).status,
    ).toBe(404);
    expect((await t.admin.post(`/api/groups/${groupId}/reprocess`)).status).toBe(404);
  });
});
