import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  afterRetentionChange,
  DAY_MS,
  type ExchangeChange,
  type Mailbox,
  mailboxOutcome,
  type OneDriveSite,
  oneDriveOutcome,
  oneDrivePurgeable,
  placeLitigationHold,
  purgeDue,
  purgeMailbox,
  type RetentionLabel,
  releaseLitigationHold,
  retainedUntil,
} from "../../functions/retention/rules.ts";

// Properties of the retention rules over random timelines of one user: licenses gained and lost, holds placed and
// released, mail received and labelled, the user deleted and restored, purges at random times. The model keeps its
// own account of what protects each item (hold events, when the mailbox left Active, label dates) and checks every
// deletion the rules make against it, so a rule that deletes too early fails here even if it agrees with itself.

const START = Date.parse("2026-01-01T00:00:00.000Z");
const iso = (t: number) => new Date(t).toISOString();
const LABELS: RetentionLabel[] = [
  { name: "Week", retentionDays: 7 },
  { name: "Month", retentionDays: 31 },
  { name: "Year", retentionDays: 365 },
  { name: "Legal", retentionDays: 2555 },
];

type Item = { id: number; receivedAt: string; sizeBytes: number; label: RetentionLabel | null };
type Box = {
  mailbox: Mailbox;
  items: Item[];
  // The model's own account, kept from the events alone:
  holdOn: boolean;
  leftActiveAt: number | null;
  disconnectedAt: number | null;
  holdReleasedAt: number | null;
  /** When a hold was released from the mailbox of a deleted user (Purview keeps it 183 days from then). */
  releasedInactiveAt: number | null;
  /** The item ids when the mailbox last stopped being Active: a reconnect must bring back exactly these. */
  snapshot: number[] | null;
};
type World = {
  now: number;
  licensed: boolean;
  holdPlans: boolean;
  deletedAt: number | null;
  gone: boolean;
  boxes: Box[];
  nextItem: number;
};

type Event =
  | { kind: "advance"; days: number; extraMs: number }
  | { kind: "license"; exchange: boolean; holdPlans: boolean }
  | { kind: "delete" }
  | { kind: "restore"; seatsAllow: boolean }
  | { kind: "placeHold" }
  | { kind: "releaseHold"; box: number }
  | { kind: "receive"; mail: { ageDays: number; sizeBytes: number; label: number | null }[] }
  | { kind: "label"; box: number; item: number; label: number | null }
  | { kind: "purge" };

const labelIndex = fc.option(fc.integer({ min: 0, max: LABELS.length - 1 }), { nil: null });
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      days: fc.integer({ min: 0, max: 45 }),
      extraMs: fc.integer({ min: 0, max: DAY_MS - 1 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("license" as const), exchange: fc.boolean(), holdPlans: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "delete" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restore" as const), seatsAllow: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ kind: "placeHold" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("releaseHold" as const), box: fc.nat(5) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("receive" as const),
      mail: fc.array(
        fc.record({
          ageDays: fc.integer({ min: 0, max: 400 }),
          sizeBytes: fc.integer({ min: 1, max: 50_000 }),
          label: labelIndex,
        }),
        { maxLength: 4 },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("label" as const), box: fc.nat(5), item: fc.nat(20), label: labelIndex }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: "purge" as const }) },
);

// fast-check's default size keeps arrays near ten events; timelines need dozens to reach a purge after a deadline.
const timelines = fc.array(eventArb, { minLength: 10, maxLength: 80, size: "max" });

const latest = (w: World) => w.boxes.at(-1) ?? null;
const exchangeNow = (w: World) => w.licensed && w.deletedAt === null;

/** Whether the model, on its own account, allows deleting this item now. */
function mayDelete(w: World, box: Box, item: Item): string | null {
  if (box.holdOn) return "on hold";
  if (box === latest(w) && exchangeNow(w)) return "the user's live mailbox";
  if (box.leftActiveAt === null || w.now < box.leftActiveAt + 30 * DAY_MS) return "within 30 days of leaving Active";
  if (box.disconnectedAt === null || w.now < box.disconnectedAt + 30 * DAY_MS) return "within 30 days of disconnecting";
  if (box.holdReleasedAt !== null && w.now < box.holdReleasedAt + 30 * DAY_MS) return "within 30 days of a release";
  if (box.releasedInactiveAt !== null && w.now < box.releasedInactiveAt + 183 * DAY_MS) {
    return "within 183 days of releasing an inactive mailbox";
  }
  if (item.label && w.now < Date.parse(item.receivedAt) + item.label.retentionDays * DAY_MS) return "kept by a label";
  return null;
}

/** Applies the mailbox outcome of a licensing change, deletion or restore, checking what the rules promise. */
function applyChange(w: World, change: ExchangeChange) {
  const box = latest(w);
  const outcome = mailboxOutcome(box?.mailbox ?? null, change, iso(w.now));
  switch (outcome.kind) {
    case "none":
      expect(box).toBeNull();
      return;
    case "stay":
      expect(outcome.mailbox).toEqual(box!.mailbox);
      return;
    case "create":
      if (box) expect(["Purged", "Disconnected"]).toContain(box.mailbox.state);
      w.boxes.push({
        mailbox: outcome.mailbox,
        items: [],
        holdOn: false,
        leftActiveAt: null,
        disconnectedAt: null,
        holdReleasedAt: null,
        releasedInactiveAt: null,
        snapshot: null,
      });
      return;
    case "reconnect": {
      const b = box!;
      if (b.mailbox.state === "Disconnected") expect(w.now).toBeLessThan(Date.parse(b.mailbox.purgeAfter!));
      // Reconnecting keeps every item the mailbox had when it stopped being Active.
      expect(b.items.map((i) => i.id)).toEqual(b.snapshot);
      b.mailbox = outcome.mailbox;
      // Active again: the windows start afresh the next time it leaves.
      b.leftActiveAt = null;
      b.disconnectedAt = null;
      b.releasedInactiveAt = null;
      b.snapshot = null;
      return;
    }
    case "disconnect":
    case "inactivate": {
      const b = box!;
      if (outcome.kind === "inactivate") expect(b.holdOn && w.deletedAt !== null).toBe(true);
      if (b.mailbox.state === "Active") {
        b.leftActiveAt = w.now;
        b.snapshot = b.items.map((i) => i.id);
      }
      if (outcome.kind === "disconnect") b.disconnectedAt = w.now;
      b.mailbox = outcome.mailbox;
      return;
    }
  }
}

/** One purge at the world's time: visits the due mailboxes only, as the store's index does. */
function purge(w: World) {
  let changed = false;
  for (const box of w.boxes) {
    if (!purgeDue(box.mailbox, iso(w.now))) continue;
    const result = purgeMailbox(box.mailbox, box.items, iso(w.now));
    for (const item of result.deleted) expect(mayDelete(w, box, item), `item ${item.id}`).toBeNull();
    if (result.mailbox.state === "Purged") {
      expect(w.now).toBeGreaterThanOrEqual(Date.parse(box.mailbox.purgeAfter!));
    }
    changed ||= result.deleted.length > 0 || JSON.stringify(result.mailbox) !== JSON.stringify(box.mailbox);
    box.items = result.kept;
    box.mailbox = result.mailbox;
  }
  return changed;
}

function step(w: World, e: Event) {
  const now = iso(w.now);
  switch (e.kind) {
    case "advance": {
      w.now += e.days * DAY_MS + e.extraMs;
      // The scheduled run deletes a user 30 days after deletion; the mailbox is told, and must not move.
      if (w.deletedAt !== null && !w.gone && w.now >= w.deletedAt + 30 * DAY_MS) {
        w.gone = true;
        applyChange(w, { exchangeBefore: false, exchangeAfter: false, deletedBefore: true, deletedAfter: true });
      }
      return;
    }
    case "license": {
      if (w.deletedAt !== null) return; // a deleted user takes no licenses
      const before = exchangeNow(w);
      w.licensed = e.exchange;
      w.holdPlans = e.exchange && e.holdPlans;
      applyChange(w, {
        exchangeBefore: before,
        exchangeAfter: exchangeNow(w),
        deletedBefore: false,
        deletedAfter: false,
      });
      return;
    }
    case "delete": {
      if (w.deletedAt !== null) return;
      const before = exchangeNow(w);
      w.deletedAt = w.now;
      applyChange(w, { exchangeBefore: before, exchangeAfter: false, deletedBefore: false, deletedAfter: true });
      return;
    }
    case "restore": {
      if (w.deletedAt === null || w.gone) return;
      w.deletedAt = null;
      // Licenses come back when seats allow; otherwise the user is restored without them.
      if (!e.seatsAllow) {
        w.licensed = false;
        w.holdPlans = false;
      }
      applyChange(w, {
        exchangeBefore: false,
        exchangeAfter: exchangeNow(w),
        deletedBefore: true,
        deletedAfter: false,
      });
      return;
    }
    case "placeHold": {
      const box = latest(w);
      const allowed = w.holdPlans && exchangeNow(w);
      const result = placeLitigationHold(box?.mailbox ?? null, allowed);
      if (!box) return expect(result.ok).toBe(false);
      expect(result.ok).toBe(box.holdOn || (box.mailbox.state === "Active" && allowed));
      if (result.ok) {
        box.mailbox = result.mailbox;
        box.holdOn = true;
      }
      return;
    }
    case "releaseHold": {
      const box = w.boxes[e.box % Math.max(1, w.boxes.length)];
      if (!box) return;
      const wasInactive = box.mailbox.state === "Inactive";
      box.mailbox = releaseLitigationHold(box.mailbox, now);
      if (box.holdOn) {
        box.holdOn = false;
        box.holdReleasedAt = w.now;
      }
      // Released from a deleted user's mailbox, it is disconnected from now on.
      if (wasInactive) {
        box.disconnectedAt = w.now;
        box.releasedInactiveAt = w.now;
      }
      return;
    }
    case "receive": {
      const box = latest(w);
      if (box?.mailbox.state !== "Active") return; // mail arrives only in a connected mailbox
      for (const m of e.mail) {
        box.items.push({
          id: w.nextItem++,
          receivedAt: iso(w.now - m.ageDays * DAY_MS),
          sizeBytes: m.sizeBytes,
          label: m.label === null ? null : LABELS[m.label]!,
        });
      }
      return;
    }
    case "label": {
      const box = w.boxes[e.box % Math.max(1, w.boxes.length)];
      if (!box || box.items.length === 0 || box.mailbox.state === "Purged") return;
      const item = box.items[e.item % box.items.length]!;
      const label = e.label === null ? null : LABELS[e.label]!;
      const before = retainedUntil(item.receivedAt, item.label);
      const after = retainedUntil(item.receivedAt, label);
      item.label = label;
      // Removing or shortening a keep sends the purge back to look; extending needs nothing.
      if (before !== null && (after === null || after < before)) box.mailbox = afterRetentionChange(box.mailbox);
      return;
    }
    case "purge": {
      purge(w);
      // Running the purge again at the same time changes nothing.
      const snapshot = JSON.stringify(w.boxes);
      expect(purge(w)).toBe(false);
      expect(JSON.stringify(w.boxes)).toBe(snapshot);
      // And nothing the rules would delete now was left behind by the index on nextPurgeAt.
      for (const box of w.boxes) expect(purgeMailbox(box.mailbox, box.items, now).deleted).toEqual([]);
      return;
    }
  }
}

function checkInvariants(w: World) {
  const actives = w.boxes.filter((b) => b.mailbox.state === "Active");
  expect(actives.length).toBeLessThanOrEqual(1);
  for (const [i, b] of w.boxes.entries()) {
    expect(b.mailbox.litigationHold).toBe(b.holdOn);
    if (i < w.boxes.length - 1) expect(["Disconnected", "Purged"]).toContain(b.mailbox.state);
    if (b.mailbox.state === "Inactive") expect(w.deletedAt !== null && b.holdOn).toBe(true);
    if (b.mailbox.state === "Purged") expect(b.items).toEqual([]);
  }
  const box = latest(w);
  if (box) expect(box.mailbox.state === "Active").toBe(exchangeNow(w));
  else expect(exchangeNow(w)).toBe(false);
}

const newWorld = (): World => ({
  now: START,
  licensed: false,
  holdPlans: false,
  deletedAt: null,
  gone: false,
  boxes: [],
  nextItem: 1,
});

describe("retention rules over random timelines", () => {
  it("never delete held data, never purge early, reconnect with every item, and purge idempotently", () => {
    fc.assert(
      fc.property(timelines, (events) => {
        const w = newWorld();
        for (const e of events) {
          step(w, e);
          checkInvariants(w);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("reach every kind of outcome (the generator is not vacuous)", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(timelines, (events) => {
        const w = newWorld();
        for (const e of events) {
          const before = JSON.stringify(w.boxes.map((b) => b.mailbox.state));
          const counts = w.boxes.map((b) => b.items.length);
          step(w, e);
          const after = w.boxes.map((b) => b.mailbox.state);
          if (JSON.stringify(after) !== before) seen.add(`${JSON.parse(before).at(-1) ?? "none"}→${after.at(-1)}`);
          if (e.kind === "purge" && w.boxes.some((b, i) => b.items.length < (counts[i] ?? 0))) seen.add("deleted");
        }
      }),
      { numRuns: 400, seed: 15 },
    );
    for (const transition of [
      "none→Active",
      "Active→Disconnected",
      "Disconnected→Active",
      "Active→Inactive",
      "Inactive→Active",
      "Inactive→Disconnected",
      "Disconnected→Purged",
      "Purged→Active",
      "deleted",
    ]) {
      expect(seen, transition).toContain(transition);
    }
  });
});

describe("OneDrive over random timelines", () => {
  type OdEvent =
    | { kind: "advance"; days: number }
    | { kind: "license"; oneDrive: boolean }
    | { kind: "delete"; retentionDays: number }
    | { kind: "restore" }
    | { kind: "purge" };
  const odArb: fc.Arbitrary<OdEvent> = fc.oneof(
    fc.record({ kind: fc.constant("advance" as const), days: fc.integer({ min: 0, max: 120 }) }),
    fc.record({ kind: fc.constant("license" as const), oneDrive: fc.boolean() }),
    fc.record({ kind: fc.constant("delete" as const), retentionDays: fc.integer({ min: 30, max: 3650 }) }),
    fc.constant({ kind: "restore" as const }),
    fc.constant({ kind: "purge" as const }),
  );

  it("purge a site only after its user was deleted and its retention ran out; a restore inside it keeps the site", () => {
    fc.assert(
      fc.property(fc.array(odArb, { minLength: 5, maxLength: 40, size: "max" }), (events) => {
        let now = START;
        let site: OneDriveSite | null = null;
        let licensed = false;
        let deletedAt: number | null = null;
        let retention = 30;
        for (const e of events) {
          const at = new Date(now).toISOString();
          if (e.kind === "advance") now += e.days * DAY_MS;
          if (e.kind === "license" && deletedAt === null) {
            licensed = e.oneDrive;
            const o = oneDriveOutcome(
              site,
              { oneDriveAfter: licensed, deletedBefore: false, deletedAfter: false },
              30,
              at,
            );
            if (o.kind !== "none") site = o.site;
          }
          if (e.kind === "delete" && deletedAt === null) {
            deletedAt = now;
            retention = e.retentionDays;
            const o = oneDriveOutcome(
              site,
              { oneDriveAfter: false, deletedBefore: false, deletedAfter: true },
              retention,
              at,
            );
            if (o.kind !== "none") site = o.site;
          }
          if (e.kind === "restore" && deletedAt !== null && now < deletedAt + 30 * DAY_MS) {
            const wasRetained = site?.state === "Retained";
            deletedAt = null;
            const o = oneDriveOutcome(
              site,
              { oneDriveAfter: licensed, deletedBefore: true, deletedAfter: false },
              30,
              at,
            );
            // Restoring within the user's 30 days is always within the site's retention (never below 30 days).
            if (wasRetained) expect(o.kind).toBe("restore");
            if (o.kind !== "none") site = o.site;
          }
          if (e.kind === "purge" && site && oneDrivePurgeable(site, at)) {
            expect(deletedAt).not.toBeNull();
            expect(now).toBeGreaterThanOrEqual(deletedAt! + retention * DAY_MS);
            site = { state: "Purged", purgeAfter: site.purgeAfter };
          }
          if (deletedAt === null && site) expect(site.state).not.toBe("Retained");
        }
      }),
      { numRuns: 300 },
    );
  });
});
