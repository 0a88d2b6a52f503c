import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { assignUserLicenses } from "../../functions/licensing/actions.ts";
import { deleteUser, restoreUser } from "../../functions/lifecycle/actions.ts";
import { addDays } from "../../functions/retention/rules.ts";
import { assign, buy, newTenant, newUser, PLAN, SKU, type TestTenant } from "../helpers/api.ts";
import { addMembers, assignGroup, eventually, newGroup, processed } from "../helpers/groups.ts";
import {
  ARCHIVING_SKU,
  ctxAt,
  dailyRunAt,
  dayAfter,
  deliver,
  itemsOfUser,
  mailbox,
  purgeAt,
} from "../helpers/retention.ts";

// What happens to a user's mail when the license goes (spec §4, DESIGN §4 rule 10): every path into Disconnected,
// reconnecting inside the window, the purge after it, holds, inactive mailboxes, deleted users and OneDrive.

async function licensedUser(t: TestTenant, sku: string = SKU.E3, disabledPlans: string[] = []) {
  const userId = await newUser(t.admin);
  const res = await assign(t.admin, userId, [{ skuId: sku, disabledPlans }]);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return userId;
}

async function tenantWithE3(seats = 10) {
  const t = await newTenant();
  await buy(t.admin, SKU.E3, seats);
  return t;
}

const expectDisconnectedFrom = (box: { state: string; purgeAfter: string; searchable: boolean }, from: Date) => {
  expect(box.state).toBe("Disconnected");
  expect(box.searchable).toBe(false);
  // The countdown starts at the change: purgeAfter = then + 30 days (the change's own time, within the test's run).
  const end = Date.parse(box.purgeAfter);
  expect(end).toBeGreaterThanOrEqual(dayAfter(from, 30).getTime() - 1000);
  expect(end).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000 + 1000);
};

describe("mailboxes follow Exchange", () => {
  it("a user gets an Active, searchable mailbox with their first Exchange mailbox plan, and none without one", async () => {
    const t = await tenantWithE3();
    await buy(t.admin, SKU.EMS, 5);
    const userId = await licensedUser(t);
    expect(await mailbox(t, userId)).toEqual({
      userId,
      state: "Active",
      purgeAfter: null,
      searchable: true,
      litigationHold: false,
      itemCount: 0,
      sizeBytes: 0,
    });
    // By userPrincipalName too.
    const upn = (await t.admin.get(`/v1.0/users/${userId}`)).body.userPrincipalName;
    expect((await mailbox(t, upn)).userId).toBe(userId);
    // EMS carries Exchange Foundation, which is no mailbox.
    const other = await licensedUser(t, SKU.EMS);
    expect(await mailbox(t, other)).toEqual({ status: 404, error: "The user has no mailbox." });
    expect((await t.admin.get("/api/mailboxes/00000000-0000-4000-8000-000000000000")).status).toBe(404);
  });

  it("removing the license disconnects the mailbox: 30-day countdown, not searchable, items kept", async () => {
    const t = await tenantWithE3();
    const userId = await licensedUser(t);
    await deliver(t, userId, 3);
    const before = new Date();
    expect((await assign(t.admin, userId, [], [SKU.E3])).status).toBe(200);
    const box = await mailbox(t, userId);
    expectDisconnectedFrom(box, before);
    expect(box.itemCount).toBe(3);
    // A disconnected mailbox takes no mail.
    const bounced = await t.admin.post(`/api/mailboxes/${userId}/items`, { items: [{ subject: "x", sizeBytes: 1 }] });
    expect(bounced.status).toBe(400);
    expect((await mailbox(t, userId)).itemCount).toBe(3);
    const listed = await t.admin.get("/api/mailboxes?state=Disconnected");
    expect(listed.body.value.map((m: { userId: string }) => m.userId)).toEqual([userId]);
  });

  it("disabling the last Exchange mailbox plan through disabledPlans disconnects it; enabling it again reconnects", async () => {
    const t = await tenantWithE3();
    const userId = await licensedUser(t);
    await deliver(t, userId, 2);
    expect(
      (await assign(t.admin, userId, [{ skuId: SKU.E3, disabledPlans: [PLAN.EXCHANGE_S_ENTERPRISE] }])).status,
    ).toBe(200);
    expect((await mailbox(t, userId)).state).toBe("Disconnected");
    expect((await assign(t.admin, userId, [{ skuId: SKU.E3 }])).status).toBe(200);
    expect(await mailbox(t, userId)).toMatchObject({
      state: "Active",
      itemCount: 2,
      purgeAfter: null,
      searchable: true,
    });
  });

  it("a second Exchange plan keeps the mailbox Active when the first goes", async () => {
    const t = await tenantWithE3();
    await buy(t.admin, SKU.EXCHANGE_P2, 5);
    const userId = await licensedUser(t);
    expect((await assign(t.admin, userId, [{ skuId: SKU.EXCHANGE_P2 }])).status).toBe(200);
    expect((await assign(t.admin, userId, [], [SKU.E3])).status).toBe(200);
    expect((await mailbox(t, userId)).state).toBe("Active");
  });

  it("leaving a licensed group disconnects the mailbox (through the page path)", async () => {
    const t = await tenantWithE3();
    const groupId = await newGroup(t.admin);
    const userId = await newUser(t.admin);
    await addMembers(t.admin, groupId, [userId]);
    expect((await assignGroup(t.admin, groupId, [{ skuId: SKU.E3 }])).status).toBe(202);
    await processed(t.admin, groupId);
    expect((await mailbox(t, userId)).state).toBe("Active");
    expect((await t.admin.delete(`/v1.0/groups/${groupId}/members/${userId}/$ref`)).status).toBe(204);
    await eventually(async () => expect((await mailbox(t, userId)).state).toBe("Disconnected"));
  });

  it("a rule change that drops the user from a licensed dynamic group disconnects the mailbox", async () => {
    const t = await tenantWithE3();
    const userId = await newUser(t.admin, { department: "Sales" });
    const groupId = await newGroup(t.admin, {
      groupTypes: ["DynamicMembership"],
      membershipRule: 'user.department -eq "Sales"',
      membershipRuleProcessingState: "On",
    });
    expect((await assignGroup(t.admin, groupId, [{ skuId: SKU.E3 }])).status).toBe(202);
    await eventually(async () => expect((await mailbox(t, userId)).state).toBe("Active"));
    expect(
      (await t.admin.patch(`/v1.0/groups/${groupId}`, { membershipRule: 'user.department -eq "Nobody"' })).status,
    ).toBe(204);
    await eventually(async () => expect((await mailbox(t, userId)).state).toBe("Disconnected"));
  });

  it("deleting the user disconnects the mailbox (no hold) and frees the seat", async () => {
    const t = await tenantWithE3();
    const userId = await licensedUser(t);
    await deliver(t, userId, 1);
    expect((await t.admin.delete(`/v1.0/users/${userId}`)).status).toBe(204);
    expect((await mailbox(t, userId)).state).toBe("Disconnected");
    const sku = (await t.admin.get("/v1.0/subscribedSkus")).body.value.find(
      (s: { skuId: string }) => s.skuId === SKU.E3,
    );
    expect(sku.consumedUnits).toBe(0);
  });

  it("a subscription locked out or deleted ends the service: the licenses stay, the mailbox disconnects", async () => {
    const t = await newTenant();
    const sub = await buy(t.admin, SKU.E3, 5);
    const a = await licensedUser(t);
    const b = await licensedUser(t);
    await deliver(t, a, 2);
    expect((await t.admin.patch(`/api/subscriptions/${sub.id}`, { status: "LockedOut" })).status).toBe(200);
    await eventually(async () => {
      expect((await mailbox(t, a)).state).toBe("Disconnected");
      expect((await mailbox(t, b)).state).toBe("Disconnected");
    });
    // Graph keeps the assignments; what they deliver is gone.
    const held = await t.admin.get(`/v1.0/users/${a}?$select=assignedLicenses`);
    expect(held.body.assignedLicenses.map((l: { skuId: string }) => l.skuId)).toEqual([SKU.E3]);
    // A subscription that delivers again (bought within the window) reconnects them with their mail.
    await buy(t.admin, SKU.E3, 5);
    await eventually(async () => expect(await mailbox(t, a)).toMatchObject({ state: "Active", itemCount: 2 }));
    expect((await mailbox(t, b)).state).toBe("Active");
  });

  it("a deleted subscription does the same, and one of several going leaves the others delivering", async () => {
    const t = await newTenant();
    const first = await buy(t.admin, SKU.E3, 2);
    const second = await buy(t.admin, SKU.E3, 2);
    const userId = await licensedUser(t);
    expect((await t.admin.patch(`/api/subscriptions/${first.id}`, { status: "Deleted" })).status).toBe(200);
    // Another subscription of the SKU still delivers: nothing to walk.
    expect((await mailbox(t, userId)).state).toBe("Active");
    expect((await t.admin.patch(`/api/subscriptions/${second.id}`, { status: "Deleted" })).status).toBe(200);
    await eventually(async () => expect((await mailbox(t, userId)).state).toBe("Disconnected"));
  });

  it("a change decided on a remembered mailbox that moved since is decided again on what is stored", async () => {
    const t = await tenantWithE3();
    const userId = await licensedUser(t);
    await deliver(t, userId, 2);
    // The isolate remembers the user's state after this change, mailbox included: the next change needs no read.
    expect((await assign(t.admin, userId, [], [SKU.E3])).status).toBe(200);
    expect((await mailbox(t, userId)).state).toBe("Disconnected");
    // Meanwhile another writer moves the mailbox without touching the user's licensing (as the purge does): here it
    // ends the mailbox at once.
    await env.DB.prepare(
      "UPDATE mailboxes SET state = 'Purged', next_purge_at = NULL, item_count = 0 WHERE user_seq = (SELECT seq FROM users WHERE id = ?1)",
    )
      .bind(userId)
      .run();
    // On the remembered state, regaining Exchange inside the window would reconnect the purged mailbox; the guard sees
    // it moved, and the change, decided again, gives a new empty mailbox beside the purged one.
    expect((await assign(t.admin, userId, [{ skuId: SKU.E3, disabledPlans: [] }])).status).toBe(200);
    const rows = await env.DB.prepare(
      "SELECT state, item_count AS items FROM mailboxes WHERE user_seq = (SELECT seq FROM users WHERE id = ?1) ORDER BY seq",
    )
      .bind(userId)
      .all();
    expect(rows.results).toEqual([
      { state: "Purged", items: 0 },
      { state: "Active", items: 0 },
    ]);
    expect((await mailbox(t, userId)).state).toBe("Active");
  });

  it("every state change is audited", async () => {
    const t = await tenantWithE3();
    const userId = await licensedUser(t);
    expect((await assign(t.admin, userId, [], [SKU.E3])).status).toBe(200);
    const audits = await t.admin.get(
      `/v1.0/auditLogs/directoryAudits?$filter=${encodeURIComponent("activityDisplayName eq 'Change mailbox state'")}`,
    );
    const values = audits.body.value.map(
      (a: { targetResources: { id: string; modifiedProperties: { oldValue: string; newValue: string }[] }[] }) => [
        a.targetResources[0]!.id,
        a.targetResources[0]!.modifiedProperties[0]!.oldValue,
        a.targetResources[0]!.modifiedProperties[0]!.newValue,
      ],
    );
    expect(values).toEqual([
      [userId, "Active", "Disconnected"],
      [userId, "", "Active"],
    ]);
  });
});

describe("the 30-day window", () => {
  it("regaining Exchange on day 29 reconnects the mailbox with every item; on day 30 a new, empty one is made", async () => {
    const t = await tenantWithE3();
    const a = await licensedUser(t);
    const b = await licensedUser(t);
    await deliver(t, a, 4);
    await deliver(t, b, 4);
    const t0 = new Date();
    for (const id of [a, b]) {
      await assignUserLicenses({
        ctx: ctxAt(t.id, t0),
        input: { userRef: id, addLicenses: [], removeLicenses: [SKU.E3] },
      });
    }
    expect((await mailbox(t, a)).purgeAfter).toBe(addDays(t0.toISOString(), 30));
    const add = { addLicenses: [{ skuId: SKU.E3, disabledPlans: [] }], removeLicenses: [] };
    await assignUserLicenses({ ctx: ctxAt(t.id, dayAfter(t0, 29)), input: { userRef: a, ...add } });
    expect(await mailbox(t, a)).toMatchObject({ state: "Active", itemCount: 4, sizeBytes: 4006, purgeAfter: null });

    await assignUserLicenses({ ctx: ctxAt(t.id, dayAfter(t0, 30)), input: { userRef: b, ...add } });
    expect(await mailbox(t, b)).toMatchObject({ state: "Active", itemCount: 0 });
    // The old mailbox is still on its way to the purge, with its items.
    const old = await itemsOfUser(t.id, b);
    expect(old.map((i) => i.state)).toEqual(["Disconnected", "Disconnected", "Disconnected", "Disconnected"]);
  });

  it("the purge on day 31 deletes unlabeled items, keeps labeled ones until their label ends, then purges the mailbox", async () => {
    const t = await tenantWithE3();
    const label = await t.admin.post("/api/retention-labels", { displayName: "Keep 60 days", retentionDays: 60 });
    expect(label.status).toBe(201);
    const userId = await licensedUser(t);
    const t0 = new Date();
    await deliver(t, userId, 5, { receivedAt: t0 });
    const labelled = await deliver(t, userId, 2, { labelId: label.body.id, receivedAt: t0 });
    expect(labelled[0]!.retainedUntil).toBe(addDays(t0.toISOString(), 60));
    await assignUserLicenses({
      ctx: ctxAt(t.id, t0),
      input: { userRef: userId, addLicenses: [], removeLicenses: [SKU.E3] },
    });
    // Day 29: not due, nothing is deleted.
    const early = await purgeAt(t, dayAfter(t0, 29));
    expect(early).toMatchObject({ mailboxes: 0, itemsPurged: 0 });
    expect((await mailbox(t, userId)).itemCount).toBe(7);
    // Day 31: the five unlabeled go, the two labeled stay.
    const run = await purgeAt(t, dayAfter(t0, 31));
    expect(run).toMatchObject({
      mailboxes: 1,
      mailboxesPurged: 0,
      itemsPurged: 5,
      bytesPurged: 1000 + 1001 + 1002 + 1003 + 1004,
    });
    expect(run.labels).toEqual([{ labelId: label.body.id, name: "Keep 60 days", items: 2, bytes: 2001 }]);
    expect(await mailbox(t, userId)).toMatchObject({ state: "Disconnected", itemCount: 2, sizeBytes: 2001 });
    // Day 45: the label still keeps them; the mailbox is not even read (its next purge is the label's end).
    expect(await purgeAt(t, dayAfter(t0, 45))).toMatchObject({ mailboxes: 0, itemsPurged: 0 });
    // Day 61: the label's 60 days are over.
    const late = await purgeAt(t, dayAfter(t0, 61));
    expect(late).toMatchObject({ mailboxes: 1, mailboxesPurged: 1, itemsPurged: 2 });
    expect(await mailbox(t, userId)).toMatchObject({ state: "Purged", itemCount: 0, searchable: false });
    // A returning user gets a new, empty mailbox.
    await assignUserLicenses({
      ctx: ctxAt(t.id, dayAfter(t0, 62)),
      input: { userRef: userId, addLicenses: [{ skuId: SKU.E3, disabledPlans: [] }], removeLicenses: [] },
    });
    expect(await mailbox(t, userId)).toMatchObject({ state: "Active", itemCount: 0 });
  });

  it("the purge skips mailboxes on litigation hold and inactive mailboxes, and the ledger says what they kept", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EXCHANGE_P2, 10);
    const held = await licensedUser(t, SKU.EXCHANGE_P2);
    const leaver = await licensedUser(t, SKU.EXCHANGE_P2);
    const plain = await licensedUser(t, SKU.EXCHANGE_P2);
    for (const id of [held, leaver, plain]) await deliver(t, id, 3);
    for (const id of [held, leaver]) {
      const res = await t.admin.patch(`/api/mailboxes/${id}`, { litigationHold: true });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.litigationHold).toBe(true);
    }
    const t0 = new Date();
    for (const id of [held, plain]) {
      await assignUserLicenses({
        ctx: ctxAt(t.id, t0),
        input: { userRef: id, addLicenses: [], removeLicenses: [SKU.EXCHANGE_P2] },
      });
    }
    await deleteUser({ ctx: ctxAt(t.id, t0), input: { userRef: leaver } });
    expect(await mailbox(t, held)).toMatchObject({ state: "Disconnected", litigationHold: true });
    expect(await mailbox(t, leaver)).toMatchObject({ state: "Inactive", litigationHold: true, searchable: true });

    const run = await purgeAt(t, dayAfter(t0, 31));
    expect(run).toMatchObject({ mailboxes: 1, mailboxesPurged: 1, itemsPurged: 3 });
    expect(run.held).toEqual({
      litigationHold: { mailboxes: 1, items: 3, bytes: 3003 },
      inactiveMailbox: { mailboxes: 1, items: 3, bytes: 3003 },
    });
    expect(await mailbox(t, held)).toMatchObject({ state: "Disconnected", itemCount: 3 });
    expect(await mailbox(t, leaver)).toMatchObject({ state: "Inactive", itemCount: 3 });
    expect(await mailbox(t, plain)).toMatchObject({ state: "Purged", itemCount: 0 });
    // Releasing the disconnected hold gives the mailbox at least 30 more days from the release.
    const released = await t.admin.patch(`/api/mailboxes/${held}`, { litigationHold: false });
    expect(released.body.litigationHold).toBe(false);
    expect(Date.parse(released.body.purgeAfter)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
  });
});

describe("litigation holds", () => {
  it("need Exchange Online Plan 2, or Plan 1 with the archiving add-on; otherwise a clear 400 and nothing changes", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EXCHANGE_P1, 5);
    await buy(t.admin, ARCHIVING_SKU, 5);
    const userId = await licensedUser(t, SKU.EXCHANGE_P1);
    const refused = await t.admin.patch(`/api/mailboxes/${userId}`, { litigationHold: true });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toBe(
      "Litigation hold requires an Exchange Online (Plan 2) license, or Exchange Online (Plan 1) with the Exchange Online Archiving add-on.",
    );
    expect((await mailbox(t, userId)).litigationHold).toBe(false);
    expect((await assign(t.admin, userId, [{ skuId: ARCHIVING_SKU }])).status).toBe(200);
    const placed = await t.admin.patch(`/api/mailboxes/${userId}`, { litigationHold: true });
    expect(placed.status).toBe(200);
    expect(placed.body.litigationHold).toBe(true);
    // Other roles may read, not hold.
    expect(
      (await t.as("LicenseAdministrator").patch(`/api/mailboxes/${userId}`, { litigationHold: false })).status,
    ).toBe(403);
    expect((await t.as("GlobalReader").get(`/api/mailboxes/${userId}`)).status).toBe(200);
    // Bad bodies are 400s.
    expect((await t.admin.patch(`/api/mailboxes/${userId}`, { litigationHold: "yes" })).status).toBe(400);
    expect((await t.admin.patch(`/api/mailboxes/${userId}`, { litigationHold: true, extra: 1 })).status).toBe(400);
  });

  it("a disconnected mailbox takes no new hold", async () => {
    const t = await tenantWithE3();
    const userId = await licensedUser(t);
    expect((await assign(t.admin, userId, [], [SKU.E3])).status).toBe(200);
    expect((await t.admin.patch(`/api/mailboxes/${userId}`, { litigationHold: true })).status).toBe(400);
  });
});

describe("deleted users", () => {
  it("deleting a held user makes the mailbox inactive and frees the Exchange seat at once", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EXCHANGE_P2, 1);
    const userId = await licensedUser(t, SKU.EXCHANGE_P2);
    await deliver(t, userId, 2);
    expect((await t.admin.patch(`/api/mailboxes/${userId}`, { litigationHold: true })).status).toBe(200);
    expect((await t.admin.delete(`/v1.0/users/${userId}`)).status).toBe(204);
    expect(await mailbox(t, userId)).toMatchObject({ state: "Inactive", litigationHold: true, itemCount: 2 });
    // The one seat is free: a new user gets it.
    const next = await newUser(t.admin);
    expect((await assign(t.admin, next, [{ skuId: SKU.EXCHANGE_P2 }])).status).toBe(200);
    expect(
      (await t.admin.get("/api/mailboxes?state=Inactive")).body.value.map((m: { userId: string }) => m.userId),
    ).toEqual([userId]);
  });

  it("restore from deleted items brings the licenses, the group membership and the mailbox back", async () => {
    const t = await tenantWithE3();
    await buy(t.admin, SKU.EMS, 5);
    const groupId = await newGroup(t.admin);
    expect((await assignGroup(t.admin, groupId, [{ skuId: SKU.EMS }])).status).toBe(202);
    await processed(t.admin, groupId);
    const userId = await licensedUser(t);
    await addMembers(t.admin, groupId, [userId]);
    await deliver(t, userId, 3);
    await eventually(async () => {
      const u = await t.admin.get(`/v1.0/users/${userId}?$select=assignedLicenses`);
      expect(u.body.assignedLicenses.map((l: { skuId: string }) => l.skuId).sort()).toEqual([SKU.E3, SKU.EMS].sort());
    });
    expect((await t.admin.delete(`/v1.0/users/${userId}`)).status).toBe(204);
    expect((await t.admin.get(`/v1.0/users/${userId}`)).status).toBe(404);
    const bin = await t.admin.get("/v1.0/directory/deletedItems/microsoft.graph.user");
    expect(bin.body.value.map((u: { id: string }) => u.id)).toEqual([userId]);
    expect(bin.body.value[0].deletedDateTime).toMatch(/Z$/);
    expect((await t.admin.get(`/v1.0/directory/deletedItems/${userId}`)).body.id).toBe(userId);

    const restored = await t.admin.post(`/v1.0/directory/deletedItems/${userId}/restore`);
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    expect(restored.body).toMatchObject({ id: userId, "@odata.type": "#microsoft.graph.user", deletedDateTime: null });
    const u = await t.admin.get(`/v1.0/users/${userId}?$select=assignedLicenses,licenseAssignmentStates`);
    expect(u.body.assignedLicenses.map((l: { skuId: string }) => l.skuId).sort()).toEqual([SKU.E3, SKU.EMS].sort());
    expect(u.body.licenseAssignmentStates.every((s: { state: string }) => s.state === "Active")).toBe(true);
    const members = await t.admin.get(`/v1.0/groups/${groupId}/members`);
    expect(members.body.value.map((m: { id: string }) => m.id)).toEqual([userId]);
    expect(await mailbox(t, userId)).toMatchObject({ state: "Active", itemCount: 3 });
    expect((await t.admin.get("/v1.0/directory/deletedItems/microsoft.graph.user")).body.value).toEqual([]);
  });

  it("restore when seats are gone: the license comes back in CountViolation and the mailbox keeps its countdown", async () => {
    const t = await tenantWithE3(1);
    const userId = await licensedUser(t);
    expect((await t.admin.delete(`/v1.0/users/${userId}`)).status).toBe(204);
    const taker = await licensedUser(t);
    expect((await mailbox(t, taker)).state).toBe("Active");
    const before = await mailbox(t, userId);
    const restored = await t.admin.post(`/v1.0/directory/deletedItems/${userId}/restore`, {});
    expect(restored.status).toBe(200);
    const u = await t.admin.get(`/v1.0/users/${userId}?$select=assignedLicenses,licenseAssignmentStates`);
    expect(u.body.assignedLicenses).toEqual([]);
    expect(u.body.licenseAssignmentStates).toMatchObject([{ skuId: SKU.E3, state: "Error", error: "CountViolation" }]);
    expect(await mailbox(t, userId)).toEqual(before);
  });

  it("restoring an inactive mailbox's user with a seat reconnects it, still on hold", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EXCHANGE_P2, 2);
    const userId = await licensedUser(t, SKU.EXCHANGE_P2);
    expect((await t.admin.patch(`/api/mailboxes/${userId}`, { litigationHold: true })).status).toBe(200);
    expect((await t.admin.delete(`/v1.0/users/${userId}`)).status).toBe(204);
    expect((await mailbox(t, userId)).state).toBe("Inactive");
    expect((await t.admin.post(`/v1.0/directory/deletedItems/${userId}/restore`)).status).toBe(200);
    expect(await mailbox(t, userId)).toMatchObject({ state: "Active", litigationHold: true });
  });

  it("the UPN stays reserved while the user is in the recycle bin; a permanent delete frees it", async () => {
    const t = await tenantWithE3();
    const userId = await licensedUser(t);
    const { userPrincipalName: upn, mailNickname } = (
      await t.admin.get(`/v1.0/users/${userId}?$select=userPrincipalName,mailNickname`)
    ).body;
    expect((await t.admin.delete(`/v1.0/users/${userId}`)).status).toBe(204);
    const body = { accountEnabled: true, displayName: "Again", mailNickname, userPrincipalName: upn };
    const taken = await t.admin.post("/v1.0/users", body);
    expect(taken.status).toBe(400);
    expect(taken.body.error.message).toBe(
      "Another object with the same value for property userPrincipalName already exists.",
    );
    // Restoring under another user's name is refused the same way, and changes nothing.
    const other = await newUser(t.admin);
    const otherUpn = (await t.admin.get(`/v1.0/users/${other}`)).body.userPrincipalName;
    const clash = await t.admin.post(`/v1.0/directory/deletedItems/${userId}/restore`, {
      newUserPrincipalName: otherUpn,
    });
    expect(clash.status).toBe(400);
    expect(clash.body.error.message).toBe(
      "Another object with the same value for property userPrincipalName already exists.",
    );
    expect((await t.admin.get(`/v1.0/directory/deletedItems/${userId}`)).status).toBe(200);

    expect((await t.admin.delete(`/v1.0/directory/deletedItems/${userId}`)).status).toBe(204);
    expect((await t.admin.get(`/v1.0/directory/deletedItems/${userId}`)).status).toBe(404);
    expect((await t.admin.post(`/v1.0/directory/deletedItems/${userId}/restore`)).status).toBe(404);
    const again = await t.admin.post("/v1.0/users", body);
    expect(again.status).toBe(201);
    // The old mailbox still answers by the old user's id; the name now names the new user.
    expect((await mailbox(t, userId)).state).toBe("Disconnected");
    expect((await t.admin.get(`/v1.0/users/${encodeURIComponent(upn)}`)).body.id).toBe(again.body.id);
  });

  it("the daily run deletes users permanently after 30 days in the recycle bin, not before", async () => {
    const t = await tenantWithE3();
    const userId = await newUser(t.admin);
    const t0 = new Date();
    await deleteUser({ ctx: ctxAt(t.id, t0), input: { userRef: userId } });
    const early = await dailyRunAt(t, dayAfter(t0, 29));
    expect(early?.usersDeleted ?? 0).toBe(0);
    expect((await t.admin.get(`/v1.0/directory/deletedItems/${userId}`)).status).toBe(200);
    // Restorable on day 29, not on day 30 (the run may not have come by yet: the window is the rule's).
    const late = await dailyRunAt(t, dayAfter(t0, 30));
    expect(late?.usersDeleted).toBe(1);
    expect((await t.admin.get(`/v1.0/directory/deletedItems/${userId}`)).status).toBe(404);
    const audits = await t.admin.get(
      `/v1.0/auditLogs/directoryAudits?$filter=${encodeURIComponent("activityDisplayName eq 'Hard Delete user'")}`,
    );
    expect(audits.body.value.map((a: { targetResources: { id: string }[] }) => a.targetResources[0]!.id)).toEqual([
      userId,
    ]);
  });

  it("a user past 30 days in the bin can't be restored even before the run comes by", async () => {
    const t = await tenantWithE3();
    const userId = await newUser(t.admin);
    const t0 = new Date();
    await deleteUser({ ctx: ctxAt(t.id, t0), input: { userRef: userId } });
    await expect(restoreUser({ ctx: ctxAt(t.id, dayAfter(t0, 30)), input: { id: userId } })).rejects.toThrow(
      /does not exist/,
    );
    await restoreUser({ ctx: ctxAt(t.id, dayAfter(t0, 29)), input: { id: userId } });
    expect((await t.admin.get(`/v1.0/users/${userId}`)).status).toBe(200);
  });
});

describe("OneDrive", () => {
  it("is kept when the license goes, retained only from the user's deletion for the tenant's setting, then purged", async () => {
    const t = await tenantWithE3();
    const keeper = await licensedUser(t);
    const leaver = await licensedUser(t);
    expect((await t.admin.get(`/api/onedrive/${keeper}`)).body).toMatchObject({ state: "Active", purgeAfter: null });
    const t0 = new Date();
    await assignUserLicenses({
      ctx: ctxAt(t.id, t0),
      input: { userRef: keeper, addLicenses: [], removeLicenses: [SKU.E3] },
    });
    expect((await t.admin.get(`/api/onedrive/${keeper}`)).body.state).toBe("Active");
    // Out of range: 400, the setting unchanged.
    expect((await t.admin.patch("/api/retention/settings", { oneDriveRetentionDays: 29 })).status).toBe(400);
    expect((await t.admin.patch("/api/retention/settings", { oneDriveRetentionDays: 3651 })).status).toBe(400);
    expect((await t.admin.patch("/api/retention/settings", { oneDriveRetentionDays: 60 })).status).toBe(200);
    expect((await t.admin.get("/api/retention/settings")).body).toEqual({ oneDriveRetentionDays: 60 });
    await deleteUser({ ctx: ctxAt(t.id, t0), input: { userRef: leaver } });
    const retained = (await t.admin.get(`/api/onedrive/${leaver}`)).body;
    expect(retained).toMatchObject({ state: "Retained", purgeAfter: addDays(t0.toISOString(), 60) });
    // Day 31: the mailbox goes, the OneDrive (60 days) stays; day 60 it goes, and the user was deleted on day 30.
    const first = await purgeAt(t, dayAfter(t0, 31));
    expect(first).toMatchObject({ mailboxesPurged: 2, oneDriveSitesPurged: 0, usersDeleted: 1 });
    expect((await t.admin.get(`/api/onedrive/${leaver}`)).body.state).toBe("Retained");
    const second = await purgeAt(t, dayAfter(t0, 60));
    expect(second.oneDriveSitesPurged).toBe(1);
    expect((await t.admin.get(`/api/onedrive/${leaver}`)).body.state).toBe("Purged");
    expect((await t.admin.get(`/api/onedrive/${keeper}`)).body.state).toBe("Active");
  });

  it("restoring the user within the retention keeps the site", async () => {
    const t = await tenantWithE3();
    const userId = await licensedUser(t);
    const t0 = new Date();
    await deleteUser({ ctx: ctxAt(t.id, t0), input: { userRef: userId } });
    await restoreUser({ ctx: ctxAt(t.id, dayAfter(t0, 20)), input: { id: userId } });
    expect((await t.admin.get(`/api/onedrive/${userId}`)).body).toMatchObject({ state: "Active", purgeAfter: null });
    const sites = await env.DB.prepare(
      "SELECT count(*) AS n FROM onedrive_sites WHERE user_seq = (SELECT seq FROM users WHERE id = ?1)",
    )
      .bind(userId)
      .first<{ n: number }>();
    expect(sites!.n).toBe(1);
  });
});

describe("the scheduled purge", () => {
  it("runs through the Worker's real scheduled export, at the cron's scheduledTime; a second run changes nothing", async () => {
    const t = await tenantWithE3();
    const userId = await licensedUser(t);
    await deliver(t, userId, 3);
    const t0 = new Date();
    await assignUserLicenses({
      ctx: ctxAt(t.id, t0),
      input: { userRef: userId, addLicenses: [], removeLicenses: [SKU.E3] },
    });
    const at = dayAfter(t0, 31);
    const run = await dailyRunAt(t, at);
    expect(run).toMatchObject({ trigger: "scheduled", asOf: at.toISOString(), mailboxesPurged: 1, itemsPurged: 3 });
    expect((await mailbox(t, userId)).state).toBe("Purged");
    // The same cron firing again finds its own run; the next day's finds nothing left.
    const again = await dailyRunAt(t, at);
    expect(again!.id).toBe(run!.id);
    const next = await dailyRunAt(t, dayAfter(t0, 32));
    expect(next).toBeNull();
    const ledger = await t.admin.get("/api/retention/ledger");
    expect(ledger.body.value.map((r: { id: string }) => r.id)).toEqual([run!.id]);
  });

  it("its ledger pages newest first by keyset; a cursor that is not the ledger's is a 400", async () => {
    const t = await tenantWithE3();
    const t0 = new Date();
    const runs = [];
    for (let day = 1; day <= 3; day++) runs.push(await purgeAt(t, dayAfter(t0, day), true));
    const first = await t.admin.get("/api/retention/ledger?$top=2");
    expect(first.status).toBe(200);
    const ids = first.body.value.map((r: { id: string }) => r.id);
    const link: string = first.body["@odata.nextLink"];
    const next = await t.admin.get(link.slice(new URL(link).origin.length));
    expect(next.status).toBe(200);
    expect(next.body["@odata.nextLink"]).toBeUndefined();
    ids.push(...next.body.value.map((r: { id: string }) => r.id));
    // Started one after another: newest first is the reverse of the order they ran in.
    expect(ids).toEqual(runs.map((r) => r.id).reverse());
    const token = (text: string) => btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    for (const forged of [
      "12",
      `${runs[0]!.startedAt}`,
      `${runs[0]!.startedAt}|not-an-id`,
      `yesterday|${runs[0]!.id}`,
    ]) {
      const res = await t.admin.get(`/api/retention/ledger?$skiptoken=${token(forged)}`);
      expect(res.status, forged).toBe(400);
      expect(res.body.error.message, forged).toBe("Invalid $skiptoken.");
    }
  });
});
