import { describe, expect, it } from "vitest";
import {
  evaluateMembershipRule,
  MAX_RULE_LENGTH,
  parseMembershipRule,
  type RuleUser,
  type StepMeter,
} from "../../functions/directory/membership-rule.ts";
import { groupMessages } from "../../functions/directory/rules.ts";
import { PREVIEW_RULE_STEPS } from "../../functions/retention/impact-actions.ts";
import { addDays } from "../../functions/retention/rules.ts";
import { assign, buy, newTenant, newUser, SKU, type TestTenant } from "../helpers/api.ts";
import { seedUsers } from "../helpers/fixtures.ts";
import { addMembers, assignGroup, eventually, newGroup, processed } from "../helpers/groups.ts";
import { mailbox } from "../helpers/retention.ts";

// POST /api/licensing/preview answers what a change would do, decided by the change's own rules, and changes nothing.

const preview = (t: TestTenant, body: Record<string, unknown>) => t.admin.post("/api/licensing/preview", body);

async function seats(t: TestTenant, skuId: string) {
  const res = await t.admin.get("/v1.0/subscribedSkus");
  return res.body.value.find((s: { skuId: string }) => s.skuId === skuId)?.consumedUnits as number;
}

describe("POST /api/licensing/preview", () => {
  it("a user's license removal: the SKU and plans lost, the seat freed, the mailbox's countdown; nothing changes", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 3);
    const userId = await newUser(t.admin);
    expect((await assign(t.admin, userId, [{ skuId: SKU.E3 }])).status).toBe(200);
    const before = Date.now();
    const res = await preview(t, { change: "userAssignLicense", userId, addLicenses: [], removeLicenses: [SKU.E3] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      change: "userAssignLicense",
      complete: true,
      usersExamined: 1,
      refusal: null,
      summary: { usersChanged: 1, mailboxesDisconnected: 1, usersWithNewErrors: 0 },
      seats: [{ skuId: SKU.E3, enabledUnits: 3, consumedBefore: 1, consumedAfter: 0 }],
      usersTruncated: false,
    });
    const [user] = res.body.users;
    expect(user).toMatchObject({ userId, skusGained: [], skusLost: [SKU.E3], errors: [] });
    expect(user.plansLost).toContain("EXCHANGE_S_ENTERPRISE");
    expect(user.mailbox).toMatchObject({ outcome: "disconnect", stateBefore: "Active", stateAfter: "Disconnected" });
    expect(Date.parse(user.mailbox.purgeAfter)).toBeGreaterThanOrEqual(
      Date.parse(addDays(new Date(before).toISOString(), 30)),
    );
    // Nothing changed.
    expect((await mailbox(t, userId)).state).toBe("Active");
    expect(await seats(t, SKU.E3)).toBe(1);
    // The change does what the preview said.
    expect((await assign(t.admin, userId, [], [SKU.E3])).status).toBe(200);
    expect((await mailbox(t, userId)).state).toBe("Disconnected");
    expect(await seats(t, SKU.E3)).toBe(0);
  });

  it("a refusal is what the change would answer", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 1);
    const a = await newUser(t.admin);
    const b = await newUser(t.admin);
    expect((await assign(t.admin, a, [{ skuId: SKU.E3 }])).status).toBe(200);
    const res = await preview(t, {
      change: "userAssignLicense",
      userId: b,
      addLicenses: [{ skuId: SKU.E3 }],
      removeLicenses: [],
    });
    expect(res.status).toBe(200);
    expect(res.body.refusal).toEqual({
      reason: "CountViolation",
      message: `Subscription with SKU ${SKU.E3} does not have any available licenses.`,
    });
    expect(res.body.users).toEqual([]);
    const real = await assign(t.admin, b, [{ skuId: SKU.E3 }]);
    expect(real.status).toBe(400);
    expect(real.body.error.message).toBe(res.body.refusal.message);
  });

  it("a group's assignLicense over its members: who gets a mailbox, who would go to CountViolation", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 2);
    const groupId = await newGroup(t.admin);
    const members = [await newUser(t.admin), await newUser(t.admin), await newUser(t.admin)];
    await addMembers(t.admin, groupId, members);
    const res = await preview(t, {
      change: "groupAssignLicense",
      groupId,
      addLicenses: [{ skuId: SKU.E3 }],
      removeLicenses: [],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      complete: true,
      usersExamined: 3,
      summary: { usersChanged: 3, usersWithNewErrors: 1, mailboxesCreated: 2 },
      seats: [{ skuId: SKU.E3, enabledUnits: 2, consumedBefore: 0, consumedAfter: 2 }],
    });
    const failed = res.body.users.filter((u: { errors: unknown[] }) => u.errors.length > 0);
    expect(failed).toHaveLength(1);
    expect(failed[0].errors).toEqual([{ skuId: SKU.E3, sourceId: groupId, error: "CountViolation" }]);
    expect(failed[0].mailbox).toBeNull();
    // The job does the same.
    expect((await assignGroup(t.admin, groupId, [{ skuId: SKU.E3 }])).status).toBe(202);
    await processed(t.admin, groupId);
    for (const u of res.body.users) {
      const box = await mailbox(t, u.userId);
      if (u.mailbox) expect(box.state).toBe("Active");
      else expect(box).toMatchObject({ status: 404 });
    }
  });

  it("a membership change: the member leaving a licensed group starts a countdown", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 5);
    const groupId = await newGroup(t.admin);
    const userId = await newUser(t.admin);
    await addMembers(t.admin, groupId, [userId]);
    expect((await assignGroup(t.admin, groupId, [{ skuId: SKU.E3 }])).status).toBe(202);
    await processed(t.admin, groupId);
    const joiner = await newUser(t.admin);
    const res = await preview(t, { change: "groupMembers", groupId, add: [joiner], remove: [userId] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const byId = Object.fromEntries(res.body.users.map((u: { userId: string }) => [u.userId, u]));
    expect(byId[userId].mailbox.outcome).toBe("disconnect");
    expect(byId[joiner].mailbox.outcome).toBe("create");
    expect(res.body.seats).toEqual([{ skuId: SKU.E3, enabledUnits: 5, consumedBefore: 1, consumedAfter: 1 }]);
    // Unknown users and dynamic groups are refused as the membership verbs refuse them.
    const unknown = await preview(t, {
      change: "groupMembers",
      groupId,
      add: ["00000000-0000-4000-8000-000000000001"],
    });
    expect(unknown.body.refusal.message).toMatch(/do not exist/);
  });

  it("a membership rule: the users it would drop lose the group's licenses and start their countdown", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.E3, 5);
    const sales = await newUser(t.admin, { department: "Sales" });
    const ops = await newUser(t.admin, { department: "Ops" });
    const groupId = await newGroup(t.admin, {
      groupTypes: ["DynamicMembership"],
      membershipRule: 'user.department -eq "Sales"',
    });
    expect((await assignGroup(t.admin, groupId, [{ skuId: SKU.E3 }])).status).toBe(202);
    await eventually(async () => expect((await mailbox(t, sales)).state).toBe("Active"));
    const res = await preview(t, { change: "membershipRule", groupId, membershipRule: 'user.department -eq "Ops"' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const byId = Object.fromEntries(res.body.users.map((u: { userId: string }) => [u.userId, u]));
    expect(byId[sales]).toMatchObject({ skusLost: [SKU.E3], mailbox: { outcome: "disconnect" } });
    expect(byId[ops]).toMatchObject({ skusGained: [SKU.E3], mailbox: { outcome: "create" } });
    expect(res.body.summary).toMatchObject({ mailboxesDisconnected: 1, mailboxesCreated: 1 });
    const bad = await preview(t, { change: "membershipRule", groupId, membershipRule: "user.department -eq" });
    expect(bad.body.refusal.message).toMatch(/^Invalid membershipRule/);
    const staticGroup = await newGroup(t.admin);
    const notDynamic = await preview(t, {
      change: "membershipRule",
      groupId: staticGroup,
      membershipRule: 'user.department -eq "x"',
    });
    expect(notDynamic.status).toBe(200);
    expect(notDynamic.body.refusal.message).toBe(groupMessages.ruleWithoutDynamic);
  });

  it("a membership rule's preview does at most PREVIEW_RULE_STEPS of rule work, in the request: partial past it", async () => {
    const t = await newTenant();
    // Attributes at their longest, and none holding the rule's letter: every -match clause reads all of them.
    const long = (i: number, n: number) => `${"a".repeat(n - String(i).length)}${i}`;
    await seedUsers(t.id, 1000, (i) => ({ name: long(i, 256), department: long(i, 64) }));
    const groupId = await newGroup(t.admin, {
      groupTypes: ["DynamicMembership"],
      membershipRule: 'user.department -eq "x"',
    });
    let heaviest = 'user.displayName -match "b"';
    while (heaviest.length + 30 <= MAX_RULE_LENGTH) heaviest += ' -or user.department -match "b"';
    const meter: StepMeter = { steps: 0 };
    evaluateMembershipRule(
      parseMembershipRule(heaviest),
      { displayName: long(0, 256), department: long(0, 64) } as RuleUser,
      meter,
    );
    const perUser = meter.steps;
    expect(1000 * perUser).toBeGreaterThan(PREVIEW_RULE_STEPS);

    const heavy = await preview(t, { change: "membershipRule", groupId, membershipRule: heaviest });
    expect(heavy.status, JSON.stringify(heavy.body)).toBe(200);
    expect(heavy.body.complete).toBe(false);
    expect(heavy.body.usersExamined).toBeGreaterThan(0);
    expect(heavy.body.usersExamined * perUser).toBeLessThanOrEqual(PREVIEW_RULE_STEPS);
    // A plain rule over the same users is examined whole.
    const plain = await preview(t, { change: "membershipRule", groupId, membershipRule: 'user.department -eq "y"' });
    expect(plain.body).toMatchObject({ complete: true, usersExamined: 1000 });
  });

  it("bad input is a 400; another tenant's user a 404", async () => {
    const t = await newTenant();
    expect((await preview(t, { change: "somethingElse" })).status).toBe(400);
    expect(
      (
        await preview(t, {
          change: "userAssignLicense",
          userId: "x",
          addLicenses: [{ skuId: "not-a-guid" }],
          removeLicenses: [],
        })
      ).status,
    ).toBe(400);
    const other = await newTenant();
    const stranger = await newUser(other.admin);
    expect(
      (await preview(t, { change: "userAssignLicense", userId: stranger, addLicenses: [], removeLicenses: [] })).status,
    ).toBe(404);
  });
});
