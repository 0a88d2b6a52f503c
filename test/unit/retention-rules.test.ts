import { describe, expect, it } from "vitest";
import {
  addDays,
  afterRetentionChange,
  DAY_MS,
  type ExchangeChange,
  emptyTally,
  itemKept,
  type Mailbox,
  mailboxHeldBy,
  mailboxMayChange,
  mailboxOutcome,
  mailboxPurgeable,
  messages,
  type OneDriveSite,
  oneDriveOutcome,
  oneDrivePurgeable,
  oneDriveRetentionProblem,
  type PurgeItem,
  placeLitigationHold,
  previewAsOf,
  previewMailboxPurge,
  purgeDue,
  purgeMailbox,
  type RetentionLabel,
  releaseLitigationHold,
  retainedUntil,
  retentionLabelProblem,
  searchable,
  tallyPurge,
  userPermanentDeletionDue,
  userRestorable,
} from "../../functions/retention/rules.ts";

// Example tests for the pure retention rules: one or more per transition of docs/retention-design.md §1.

const NOW = "2026-03-01T10:00:00.000Z";
const at = (base: string, days: number, extraMs = 0) =>
  new Date(Date.parse(base) + days * DAY_MS + extraMs).toISOString();
const IN_30 = at(NOW, 30);

const active = (litigationHold = false): Mailbox => ({
  state: "Active",
  litigationHold,
  purgeAfter: null,
  nextPurgeAt: null,
});
const disconnected = (purgeAfter: string, litigationHold = false): Mailbox => ({
  state: "Disconnected",
  litigationHold,
  purgeAfter,
  nextPurgeAt: purgeAfter,
});
const inactive = (): Mailbox => ({ state: "Inactive", litigationHold: true, purgeAfter: null, nextPurgeAt: null });
const purged = (purgeAfter: string): Mailbox => ({
  state: "Purged",
  litigationHold: false,
  purgeAfter,
  nextPurgeAt: null,
});

const change = (c: Partial<ExchangeChange>): ExchangeChange => ({
  exchangeBefore: false,
  exchangeAfter: false,
  deletedBefore: false,
  deletedAfter: false,
  ...c,
});
const loses = change({ exchangeBefore: true, exchangeAfter: false });
const gains = change({ exchangeBefore: false, exchangeAfter: true });
const keeps = change({ exchangeBefore: true, exchangeAfter: true });
const deleting = change({ exchangeBefore: true, exchangeAfter: false, deletedAfter: true });
const restoringWithExchange = change({ exchangeAfter: true, deletedBefore: true });
const restoringWithout = change({ deletedBefore: true });

const LEGAL: RetentionLabel = { name: "Legal", retentionDays: 2555 };
const WEEK: RetentionLabel = { name: "Week", retentionDays: 7 };
const item = (receivedAt: string, label: RetentionLabel | null, sizeBytes = 100): PurgeItem => ({
  receivedAt,
  sizeBytes,
  label,
});

describe("mailboxOutcome: a user without a mailbox", () => {
  it("gets an Active, searchable mailbox with its first Exchange mailbox plan", () => {
    const outcome = mailboxOutcome(null, gains, NOW);
    expect(outcome).toEqual({ kind: "create", mailbox: active() });
    expect(searchable(active().state)).toBe(true);
  });

  it("gets nothing without one, and nothing when the change deletes the user", () => {
    expect(mailboxOutcome(null, change({}), NOW)).toEqual({ kind: "none" });
    expect(mailboxOutcome(null, change({ exchangeAfter: true, deletedAfter: true }), NOW)).toEqual({ kind: "none" });
  });
});

describe("mailboxOutcome: an Active mailbox", () => {
  it("stays while the user keeps an enabled Exchange mailbox plan", () => {
    expect(mailboxOutcome(active(), keeps, NOW)).toEqual({ kind: "stay", mailbox: active() });
  });

  it("disconnects when the last plan goes (removal, disabledPlans, leaving a group, a lapsed subscription alike)", () => {
    const outcome = mailboxOutcome(active(), loses, NOW);
    expect(outcome).toEqual({ kind: "disconnect", mailbox: disconnected(IN_30) });
    expect(searchable("Disconnected")).toBe(false);
  });

  it("keeps its hold when it disconnects", () => {
    expect(mailboxOutcome(active(true), loses, NOW)).toEqual({
      kind: "disconnect",
      mailbox: disconnected(IN_30, true),
    });
  });

  it("disconnects for 30 days when its user is deleted without a hold", () => {
    expect(mailboxOutcome(active(), deleting, NOW)).toEqual({ kind: "disconnect", mailbox: disconnected(IN_30) });
  });

  it("becomes Inactive, searchable and without a deadline when its user is deleted on hold", () => {
    const outcome = mailboxOutcome(active(true), deleting, NOW);
    expect(outcome).toEqual({ kind: "inactivate", mailbox: inactive() });
    expect(searchable("Inactive")).toBe(true);
  });

  it("treats deletion as losing every plan, whatever the caller computed", () => {
    const outcome = mailboxOutcome(
      active(),
      change({ exchangeBefore: true, exchangeAfter: true, deletedAfter: true }),
      NOW,
    );
    expect(outcome.kind).toBe("disconnect");
  });
});

describe("mailboxOutcome: a Disconnected mailbox", () => {
  it("reconnects with its hold when Exchange comes back before purgeAfter, to the last millisecond", () => {
    const m = disconnected(IN_30, true);
    expect(mailboxOutcome(m, gains, at(IN_30, 0, -1))).toEqual({ kind: "reconnect", mailbox: active(true) });
  });

  it("is gone for the user from purgeAfter on: a new, empty mailbox instead", () => {
    expect(mailboxOutcome(disconnected(IN_30), gains, IN_30)).toEqual({ kind: "create", mailbox: active() });
  });

  it("stays as it is while the user has no Exchange plan", () => {
    const m = disconnected(IN_30);
    expect(mailboxOutcome(m, change({}), at(NOW, 5))).toEqual({ kind: "stay", mailbox: m });
  });

  it("keeps its countdown when its user is then deleted", () => {
    const m = disconnected(IN_30);
    expect(mailboxOutcome(m, change({ deletedAfter: true }), at(NOW, 10))).toEqual({ kind: "stay", mailbox: m });
  });

  it("becomes Inactive when its user is deleted while the hold stands", () => {
    expect(mailboxOutcome(disconnected(IN_30, true), change({ deletedAfter: true }), at(NOW, 10))).toEqual({
      kind: "inactivate",
      mailbox: inactive(),
    });
  });

  it("reconnects when a deleted user is restored with an Exchange seat inside the window", () => {
    expect(mailboxOutcome(disconnected(IN_30), restoringWithExchange, at(NOW, 20))).toEqual({
      kind: "reconnect",
      mailbox: active(),
    });
  });

  it("stays Disconnected with the same deadline when the user is restored without a seat", () => {
    const m = disconnected(IN_30);
    expect(mailboxOutcome(m, restoringWithout, at(NOW, 20))).toEqual({ kind: "stay", mailbox: m });
  });
});

describe("mailboxOutcome: an Inactive mailbox", () => {
  it("stays Inactive while its user is deleted, permanently deleted included", () => {
    expect(mailboxOutcome(inactive(), change({ deletedBefore: true, deletedAfter: true }), at(NOW, 400))).toEqual({
      kind: "stay",
      mailbox: inactive(),
    });
  });

  it("reconnects, still on hold, when its user is restored with Exchange", () => {
    expect(mailboxOutcome(inactive(), restoringWithExchange, at(NOW, 3))).toEqual({
      kind: "reconnect",
      mailbox: active(true),
    });
  });

  it("becomes an ordinary held, de-licensed mailbox when its user is restored without Exchange", () => {
    const then = at(NOW, 3);
    expect(mailboxOutcome(inactive(), restoringWithout, then)).toEqual({
      kind: "disconnect",
      mailbox: disconnected(at(then, 30), true),
    });
  });
});

describe("mailboxOutcome: a Purged mailbox", () => {
  it("is followed by a new, empty mailbox when Exchange comes back", () => {
    expect(mailboxOutcome(purged(IN_30), gains, at(NOW, 90))).toEqual({ kind: "create", mailbox: active() });
  });

  it("stays Purged otherwise", () => {
    expect(mailboxOutcome(purged(IN_30), change({}), at(NOW, 90))).toEqual({ kind: "stay", mailbox: purged(IN_30) });
  });
});

describe("mailboxMayChange", () => {
  it("is false only when neither Exchange nor deletion moves", () => {
    expect(mailboxMayChange(keeps)).toBe(false);
    expect(mailboxMayChange(change({}))).toBe(false);
    expect(mailboxMayChange(change({ deletedBefore: true, deletedAfter: true }))).toBe(false);
    expect(mailboxMayChange(gains)).toBe(true);
    expect(mailboxMayChange(loses)).toBe(true);
    expect(mailboxMayChange(change({ deletedAfter: true }))).toBe(true);
    expect(mailboxMayChange(restoringWithout)).toBe(true);
  });

  it("never skips a change that would move a mailbox consistent with the user's licensing before", () => {
    const before: [Mailbox | null, ExchangeChange][] = [
      [active(), keeps],
      [active(true), keeps],
      [null, change({})],
      [disconnected(IN_30), change({})],
      [disconnected(IN_30, true), change({})],
      [inactive(), change({ deletedBefore: true, deletedAfter: true })],
      [purged(IN_30), change({})],
    ];
    for (const [mailbox, c] of before) {
      expect(mailboxMayChange(c)).toBe(false);
      for (const now of [NOW, at(IN_30, 1)]) expect(["none", "stay"]).toContain(mailboxOutcome(mailbox, c, now).kind);
    }
  });
});

describe("litigation hold", () => {
  it("is placed on an Active mailbox whose plans allow it", () => {
    expect(placeLitigationHold(active(), true)).toEqual({ ok: true, mailbox: active(true), changed: true });
  });

  it("is refused with a clear message without Plan 2 (or Plan 1 with archiving)", () => {
    expect(placeLitigationHold(active(), false)).toEqual({
      ok: false,
      error: "notLicensed",
      message: messages.holdNotLicensed,
    });
  });

  it("cannot be placed on a Disconnected mailbox: no Exchange license is left", () => {
    expect(placeLitigationHold(disconnected(IN_30), true)).toMatchObject({ ok: false, error: "notLicensed" });
  });

  it("placed twice changes nothing, also on an Inactive mailbox", () => {
    expect(placeLitigationHold(active(true), false)).toEqual({ ok: true, mailbox: active(true), changed: false });
    expect(placeLitigationHold(inactive(), false)).toEqual({ ok: true, mailbox: inactive(), changed: false });
  });

  it("needs a mailbox", () => {
    expect(placeLitigationHold(null, true)).toMatchObject({
      ok: false,
      error: "noMailbox",
      message: messages.noMailbox,
    });
    expect(placeLitigationHold(purged(IN_30), true)).toMatchObject({ ok: false, error: "noMailbox" });
  });

  it("released from an Inactive mailbox leaves it soft-deleted for 183 days from the release", () => {
    const then = at(NOW, 400);
    expect(releaseLitigationHold(inactive(), then)).toEqual(disconnected(at(then, 183)));
  });

  it("released from a Disconnected mailbox leaves at least 30 days from the release", () => {
    const long = at(NOW, 45);
    expect(releaseLitigationHold(disconnected(long, true), NOW)).toEqual(disconnected(long));
    const then = at(NOW, 60);
    expect(releaseLitigationHold(disconnected(IN_30, true), then)).toEqual(disconnected(at(then, 30)));
  });

  it("released from an Active mailbox only lifts the hold", () => {
    expect(releaseLitigationHold(active(true), NOW)).toEqual(active());
    const m = disconnected(IN_30);
    expect(releaseLitigationHold(m, NOW)).toBe(m);
  });
});

describe("retention labels", () => {
  it("keep an item from its received date for their period, not one millisecond more", () => {
    const received = "2025-01-01T00:00:00.000Z";
    const end = at(received, 7);
    expect(retainedUntil(received, WEEK)).toBe(end);
    expect(itemKept({ receivedAt: received }, WEEK, at(end, 0, -1))).toBe(true);
    expect(itemKept({ receivedAt: received }, WEEK, end)).toBe(false);
    expect(itemKept({ receivedAt: received }, null, received)).toBe(false);
    expect(retainedUntil(received, null)).toBeNull();
  });

  it("need a whole number of days from 1 to 36500", () => {
    for (const bad of [0, -1, 1.5, 36_501, Number.NaN]) expect(retentionLabelProblem(bad)).toBe(messages.labelDays);
    for (const good of [1, 2555, 36_500]) expect(retentionLabelProblem(good)).toBeNull();
  });
});

describe("windows are guarded", () => {
  it("refuse zero, negative, fractional and non-numeric days, and times that are not times", () => {
    for (const bad of [0, -30, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => addDays(NOW, bad)).toThrow(RangeError);
    }
    expect(() => addDays("yesterday", 30)).toThrow(RangeError);
    expect(addDays(NOW, 30)).toBe(IN_30);
  });
});

describe("mailboxPurgeable", () => {
  it("only a Disconnected mailbox without a hold, from its purgeAfter on", () => {
    expect(mailboxPurgeable(disconnected(IN_30), at(IN_30, 0, -1))).toBe(false);
    expect(mailboxPurgeable(disconnected(IN_30), IN_30)).toBe(true);
    expect(mailboxPurgeable(disconnected(IN_30, true), at(IN_30, 900))).toBe(false);
    expect(mailboxPurgeable(inactive(), at(IN_30, 900))).toBe(false);
    expect(mailboxPurgeable(active(), at(IN_30, 900))).toBe(false);
    expect(mailboxPurgeable(purged(IN_30), at(IN_30, 900))).toBe(false);
  });

  it("names what holds a mailbox as a whole", () => {
    expect(mailboxHeldBy(inactive())).toBe("inactiveMailbox");
    expect(mailboxHeldBy(disconnected(IN_30, true))).toBe("litigationHold");
    expect(mailboxHeldBy(active(true))).toBeNull();
    expect(mailboxHeldBy(disconnected(IN_30))).toBeNull();
  });
});

describe("purgeMailbox", () => {
  const received = "2026-01-10T00:00:00.000Z";
  const items = [
    item(received, null, 10),
    item(received, LEGAL, 20),
    item(received, WEEK, 40),
    item(at(IN_30, -1), WEEK, 80), // a week label that still runs on purge day
  ];

  it("deletes what no label keeps and keeps the rest, naming the labels", () => {
    const purge = purgeMailbox(disconnected(IN_30), items, IN_30);
    expect(purge.applied).toBe(true);
    expect(purge.deleted).toEqual([items[0], items[2]]);
    expect(purge.kept).toEqual([items[1], items[3]]);
    expect(purge.bytesDeleted).toBe(50);
    expect(purge.keptBy).toEqual(["Legal", "Week"]);
    // Still Disconnected, next due when the week label on the last item ends.
    expect(purge.mailbox).toEqual({ ...disconnected(IN_30), nextPurgeAt: at(IN_30, 6) });
    expect(purgeDue(purge.mailbox, IN_30)).toBe(false);
    expect(purgeDue(purge.mailbox, at(IN_30, 6))).toBe(true);
  });

  it("marks the mailbox Purged when nothing is left, keeping the date it was purged after", () => {
    const purge = purgeMailbox(disconnected(IN_30), [items[0]!, items[2]!], at(IN_30, 2));
    expect(purge.mailbox).toEqual(purged(IN_30));
    expect(purgeMailbox(disconnected(IN_30), [], IN_30).mailbox).toEqual(purged(IN_30));
  });

  it("touches nothing before purgeAfter, under a hold, or in an Inactive mailbox", () => {
    for (const [m, now, keptBy] of [
      [disconnected(IN_30), at(IN_30, 0, -1), []],
      [disconnected(IN_30, true), at(IN_30, 900), ["litigationHold"]],
      [inactive(), at(IN_30, 900), ["inactiveMailbox"]],
    ] as const) {
      const purge = purgeMailbox(m, items, now);
      expect(purge).toMatchObject({ applied: false, deleted: [], bytesDeleted: 0, keptBy, mailbox: m });
      expect(purge.kept).toEqual(items);
    }
  });

  it("run twice at the same time changes nothing the second time", () => {
    const first = purgeMailbox(disconnected(IN_30), items, IN_30);
    const second = purgeMailbox(first.mailbox, first.kept, IN_30);
    expect(second.deleted).toEqual([]);
    expect(second.mailbox).toEqual(first.mailbox);
    const emptied = purgeMailbox(disconnected(IN_30), [items[0]!], IN_30);
    expect(purgeMailbox(emptied.mailbox, [], IN_30)).toMatchObject({ applied: false, mailbox: purged(IN_30) });
  });

  it("looks again from purgeAfter after a label is removed or shortened", () => {
    const afterPurge = { ...disconnected(IN_30), nextPurgeAt: at(IN_30, 300) };
    expect(afterRetentionChange(afterPurge)).toEqual(disconnected(IN_30));
    expect(afterRetentionChange(active())).toEqual(active());
  });

  it("adds up into one run's tally, with what holds and labels kept", () => {
    let tally = emptyTally();
    tally = tallyPurge(tally, purgeMailbox(disconnected(IN_30), items, IN_30));
    tally = tallyPurge(tally, purgeMailbox(disconnected(IN_30), [items[0]!], IN_30));
    tally = tallyPurge(tally, purgeMailbox(disconnected(IN_30, true), items, IN_30));
    tally = tallyPurge(tally, purgeMailbox(inactive(), [items[1]!], IN_30));
    expect(tally).toEqual({
      mailboxes: 2,
      mailboxesPurged: 1,
      itemsPurged: 3,
      bytesPurged: 60,
      keptByLabel: { Legal: { items: 1, bytes: 20 }, Week: { items: 1, bytes: 80 } },
      heldBy: {
        litigationHold: { mailboxes: 1, items: 4, bytes: 150 },
        inactiveMailbox: { mailboxes: 1, items: 1, bytes: 20 },
      },
    });
  });
});

describe("preview", () => {
  it("stands for the end of the UTC day, and only for calendar dates", () => {
    expect(previewAsOf("2026-03-31")).toBe("2026-03-31T23:59:59.999Z");
    for (const bad of ["2026-02-30", "2026-3-1", "2026-03-01T00:00:00Z", "soon", ""])
      expect(previewAsOf(bad)).toBeNull();
  });

  it("lists a Disconnected mailbox whose window ends by then, with what the purge would delete and keep", () => {
    const items = [item("2026-01-10T00:00:00.000Z", null), item("2026-01-10T00:00:00.000Z", LEGAL)];
    const asOf = previewAsOf(IN_30.slice(0, 10))!;
    expect(previewMailboxPurge(disconnected(IN_30), items, asOf)).toEqual({
      purgeAfter: IN_30,
      itemsToDelete: 1,
      itemsKept: 1,
      keptBy: ["Legal"],
    });
    expect(previewMailboxPurge(disconnected(IN_30, true), items, asOf)).toEqual({
      purgeAfter: IN_30,
      itemsToDelete: 0,
      itemsKept: 2,
      keptBy: ["litigationHold"],
    });
  });

  it("leaves out mailboxes not due by then and mailboxes not on the way to a purge", () => {
    const asOf = previewAsOf(NOW.slice(0, 10))!;
    expect(previewMailboxPurge(disconnected(IN_30), [], asOf)).toBeNull();
    expect(previewMailboxPurge(active(), [], at(IN_30, 99))).toBeNull();
    expect(previewMailboxPurge(inactive(), [], at(IN_30, 99))).toBeNull();
    expect(previewMailboxPurge(purged(IN_30), [], at(IN_30, 99))).toBeNull();
  });
});

describe("OneDrive", () => {
  const activeSite: OneDriveSite = { state: "Active", purgeAfter: null };
  const retained = (purgeAfter: string): OneDriveSite => ({ state: "Retained", purgeAfter });
  const od = (c: Partial<{ oneDriveAfter: boolean; deletedBefore: boolean; deletedAfter: boolean }>) => ({
    oneDriveAfter: false,
    deletedBefore: false,
    deletedAfter: false,
    ...c,
  });

  it("is created with the first OneDrive plan", () => {
    expect(oneDriveOutcome(null, od({ oneDriveAfter: true }), 30, NOW)).toEqual({ kind: "create", site: activeSite });
    expect(oneDriveOutcome(null, od({}), 30, NOW)).toEqual({ kind: "none" });
  });

  it("is kept when the license goes: only deleting the user starts retention", () => {
    expect(oneDriveOutcome(activeSite, od({}), 30, NOW)).toEqual({ kind: "stay", site: activeSite });
  });

  it("enters retention for the tenant's setting when the user is deleted", () => {
    expect(oneDriveOutcome(activeSite, od({ deletedAfter: true }), 90, NOW)).toEqual({
      kind: "retain",
      site: retained(at(NOW, 90)),
    });
  });

  it("is kept when the user is restored within the retention, licensed or not", () => {
    expect(oneDriveOutcome(retained(IN_30), od({ deletedBefore: true }), 30, at(IN_30, 0, -1))).toEqual({
      kind: "restore",
      site: activeSite,
    });
  });

  it("is not brought back after its retention ended: a new one with a OneDrive plan", () => {
    expect(oneDriveOutcome(retained(IN_30), od({ deletedBefore: true, oneDriveAfter: true }), 30, IN_30)).toEqual({
      kind: "create",
      site: activeSite,
    });
    const site = retained(IN_30);
    expect(oneDriveOutcome(site, od({ deletedBefore: true }), 30, IN_30)).toEqual({ kind: "stay", site });
  });

  it("keeps its date while the user stays deleted", () => {
    const site = retained(IN_30);
    expect(oneDriveOutcome(site, od({ deletedBefore: true, deletedAfter: true }), 3650, NOW)).toEqual({
      kind: "stay",
      site,
    });
  });

  it("is purged from its purgeAfter on, and an active site never", () => {
    expect(oneDrivePurgeable(retained(IN_30), at(IN_30, 0, -1))).toBe(false);
    expect(oneDrivePurgeable(retained(IN_30), IN_30)).toBe(true);
    expect(oneDrivePurgeable(activeSite, at(IN_30, 9999))).toBe(false);
  });

  it("retention is a setting of 30 to 3650 whole days; anything else is refused, never used", () => {
    for (const bad of [0, 29, 3651, 30.5, -30]) {
      expect(oneDriveRetentionProblem(bad)).toBe(messages.oneDriveDays);
      expect(() => oneDriveOutcome(activeSite, od({ deletedAfter: true }), bad, NOW)).toThrow(RangeError);
    }
    for (const good of [30, 365, 3650]) expect(oneDriveRetentionProblem(good)).toBeNull();
  });
});

describe("deleted users", () => {
  it("are restorable for 30 days, then due for permanent deletion", () => {
    expect(userPermanentDeletionDue(NOW)).toBe(IN_30);
    expect(userRestorable(NOW, at(IN_30, 0, -1))).toBe(true);
    expect(userRestorable(NOW, IN_30)).toBe(false);
  });
});
