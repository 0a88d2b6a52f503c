/**
 * Pure retention rules: what a licensing change or a deletion does to a user's mailbox and OneDrive, what litigation
 * holds and retention labels keep, and what the scheduled purge may delete (DESIGN §4 rule 10, spec §4). No I/O and
 * no clock: every decision takes `now`, so the API, the licensing write hook, previews and the purge decide alike.
 * docs/retention-design.md gives the state table and the sources behind each window.
 */

import { RECYCLE_BIN_DAYS } from "../directory/rules.ts";

export const DAY_MS = 86_400_000;

export const windows = {
  /** Exchange keeps a de-licensed or deleted user's mailbox 30 days, then deletes it (spec §4). */
  disconnectedMailboxDays: 30,
  /** Purview: a formerly inactive mailbox stays soft-deleted 183 days from the day its last hold is removed. */
  releasedInactiveMailboxDays: 183,
  /** A hold released from a disconnected mailbox leaves at least the normal window before anything is due. */
  releasedHoldGraceDays: 30,
  /** Entra's recycle bin keeps a deleted user 30 days, then deletes it permanently (the directory's rule). */
  deletedUserDays: RECYCLE_BIN_DAYS,
  oneDriveDefaultDays: 30,
  oneDriveMinDays: 30,
  oneDriveMaxDays: 3650,
  /** A label's period is bounded so that receivedAt + days stays a valid date; a century is "keep". */
  labelMaxDays: 36_500,
} as const;

export const messages = {
  noMailbox: "The user has no mailbox.",
  holdNotLicensed:
    "Litigation hold requires an Exchange Online (Plan 2) license, or Exchange Online (Plan 1) with the Exchange Online Archiving add-on.",
  labelDays: `retentionDays must be a whole number of days from 1 to ${windows.labelMaxDays}.`,
  oneDriveDays: `OneDrive retention must be a whole number of days from ${windows.oneDriveMinDays} to ${windows.oneDriveMaxDays}.`,
  previewDate: "date must be a calendar date written YYYY-MM-DD.",
};

// ---- time ---------------------------------------------------------------------------------------------------------

const ms = (at: string) => {
  const t = Date.parse(at);
  if (Number.isNaN(t)) throw new RangeError(`not a point in time: ${at}`);
  return t;
};

/**
 * The guard every window goes through: a zero or negative window would make everything due at once (a purge that
 * deletes all mail the moment a license goes), so it is a bug to stop, never a value to use.
 */
export function addDays(at: string, days: number): string {
  if (!Number.isInteger(days) || days <= 0) throw new RangeError(`a retention window must be whole days > 0: ${days}`);
  return new Date(ms(at) + days * DAY_MS).toISOString();
}

const notBefore = (now: string, at: string) => ms(now) >= ms(at);
const later = (a: string, b: string) => (ms(a) >= ms(b) ? a : b);

// ---- plans ----------------------------------------------------------------------------------------------------------

/**
 * A user's effective enabled plan names (spec §3: union over the licenses held of the SKU's plans minus the license's
 * disabled plans), named as the catalogue names them; `plansOf` gives a SKU's plans. What catalog/service-plans
 * classifies into "has an Exchange mailbox" and "has a OneDrive".
 */
export function effectivePlanNames(
  licenses: readonly { skuId: string; disabledPlans: readonly string[] }[],
  plansOf: (skuId: string) => readonly { id: string; name: string }[] | undefined,
): Set<string> {
  const names = new Set<string>();
  for (const license of licenses) {
    const disabled = new Set(license.disabledPlans);
    for (const plan of plansOf(license.skuId) ?? []) if (!disabled.has(plan.id)) names.add(plan.name);
  }
  return names;
}

// ---- mailboxes ----------------------------------------------------------------------------------------------------

export type MailboxState = "Active" | "Disconnected" | "Inactive" | "Purged";

/** What the rules need of one mailbox (a `mailboxes` row). */
export type Mailbox = {
  state: MailboxState;
  litigationHold: boolean;
  /**
   * Disconnected: the end of its window. Before it the mailbox reconnects; from it on the purge may delete. Purged keeps
   * the value it was purged after; Active and Inactive have none.
   */
  purgeAfter: string | null;
  /** When the purge next has work here: purgeAfter, then the end of the earliest label keep. The purge's index key. */
  nextPurgeAt: string | null;
};

/** eDiscovery searches active and inactive mailboxes, not de-licensed ones (spec §4). */
export const searchable = (state: MailboxState) => state === "Active" || state === "Inactive";

/** One user's side of a licensing change (or a deletion or restore), as the licensing write path knows it. */
export type ExchangeChange = {
  /** An enabled Exchange mailbox plan among the user's effective plans before and after (catalog/service-plans). */
  exchangeBefore: boolean;
  exchangeAfter: boolean;
  /** The user is deleted (in the recycle bin, or gone) before and after: deleting is false → true, restoring the reverse. */
  deletedBefore: boolean;
  deletedAfter: boolean;
};

export type MailboxOutcome =
  /** No mailbox, and none is needed. */
  | { kind: "none" }
  /** The mailbox stays as it is. */
  | { kind: "stay"; mailbox: Mailbox }
  /** A new, empty Active mailbox (a new row: a mailbox past its window keeps its own path to the purge). */
  | { kind: "create"; mailbox: Mailbox }
  /** The 30-day countdown starts; the mailbox is no longer searchable. */
  | { kind: "disconnect"; mailbox: Mailbox }
  /** Back to Active with all its items, before purgeAfter. */
  | { kind: "reconnect"; mailbox: Mailbox }
  /** The user is deleted while the mailbox is on hold: kept, searchable, as long as the hold stands. */
  | { kind: "inactivate"; mailbox: Mailbox };

/**
 * Whether a change can move a mailbox at all. A page of thousands of users reads mailboxes only for those it can
 * move: most group jobs assign SKUs whose Exchange side is unchanged (EMS, Entra ID P1, Intune).
 */
export const mailboxMayChange = (c: ExchangeChange) =>
  c.exchangeBefore !== c.exchangeAfter || c.deletedBefore !== c.deletedAfter;

const activeMailbox = (litigationHold: boolean): Mailbox => ({
  state: "Active",
  litigationHold,
  purgeAfter: null,
  nextPurgeAt: null,
});

const inactive = (): Mailbox => ({ state: "Inactive", litigationHold: true, purgeAfter: null, nextPurgeAt: null });

const disconnected = (litigationHold: boolean, purgeAfter: string): Mailbox => ({
  state: "Disconnected",
  litigationHold,
  purgeAfter,
  nextPurgeAt: purgeAfter,
});

/**
 * The mailbox outcome of one user's licensing change, deletion or restore: `current` is the user's latest mailbox
 * (null if none). Decided from the mailbox's state and what the user has after the change, not from `exchangeBefore`,
 * so a row that drifted from the licensing (a crash between two writes, a seed) converges on the next change.
 */
export function mailboxOutcome(current: Mailbox | null, change: ExchangeChange, now: string): MailboxOutcome {
  // A deleted user has no licenses: whatever plans the caller computed, deletion wins.
  const licensed = change.exchangeAfter && !change.deletedAfter;
  const goesInactive = (m: Mailbox) => change.deletedAfter && m.litigationHold;
  if (current === null) return licensed ? { kind: "create", mailbox: activeMailbox(false) } : { kind: "none" };

  switch (current.state) {
    case "Active": {
      if (licensed) return { kind: "stay", mailbox: current };
      if (goesInactive(current)) return { kind: "inactivate", mailbox: inactive() };
      return {
        kind: "disconnect",
        mailbox: disconnected(current.litigationHold, addDays(now, windows.disconnectedMailboxDays)),
      };
    }
    case "Disconnected": {
      if (licensed) {
        // Reconnect only inside the window; from purgeAfter on the mail is gone for the user (what labels keep stays
        // for discovery in the old mailbox) and Exchange provisions a new, empty one.
        if (!notBefore(now, current.purgeAfter!)) {
          return { kind: "reconnect", mailbox: activeMailbox(current.litigationHold) };
        }
        return { kind: "create", mailbox: activeMailbox(false) };
      }
      // A mailbox on hold when its user is deleted becomes inactive, connected or not (Purview, inactive mailboxes).
      if (goesInactive(current)) return { kind: "inactivate", mailbox: inactive() };
      // Deleting a user whose countdown already runs does not restart it.
      return { kind: "stay", mailbox: current };
    }
    case "Inactive": {
      if (change.deletedAfter) return { kind: "stay", mailbox: current };
      // The user was restored from the recycle bin: with Exchange the mailbox reconnects; without (no seat came back)
      // it is an ordinary de-licensed mailbox whose hold still blocks the purge.
      if (licensed) return { kind: "reconnect", mailbox: activeMailbox(true) };
      return { kind: "disconnect", mailbox: disconnected(true, addDays(now, windows.disconnectedMailboxDays)) };
    }
    case "Purged":
      // Nothing is left to reconnect: Exchange gives a returning user a new, empty mailbox (spec §4, "can't be recovered").
      return licensed ? { kind: "create", mailbox: activeMailbox(false) } : { kind: "stay", mailbox: current };
  }
}

// ---- holds --------------------------------------------------------------------------------------------------------

export type HoldResult =
  | { ok: true; mailbox: Mailbox; changed: boolean }
  | { ok: false; error: "noMailbox" | "notLicensed"; message: string };

/**
 * Places a litigation hold. `holdAllowed` is litigationHoldAllowed(the user's enabled plans) from catalog/service-plans:
 * Plan 2, or Plan 1 with the archiving add-on. A disconnected mailbox has no Exchange license left, so it cannot
 * take a new hold; a hold that already stands is kept as it is (placing it twice changes nothing).
 */
export function placeLitigationHold(mailbox: Mailbox | null, holdAllowed: boolean): HoldResult {
  if (mailbox === null || mailbox.state === "Purged") {
    return { ok: false, error: "noMailbox", message: messages.noMailbox };
  }
  if (mailbox.litigationHold) return { ok: true, mailbox, changed: false };
  if (mailbox.state !== "Active" || !holdAllowed) {
    return { ok: false, error: "notLicensed", message: messages.holdNotLicensed };
  }
  return { ok: true, mailbox: { ...mailbox, litigationHold: true }, changed: true };
}

/**
 * Removes a litigation hold. An inactive mailbox becomes an ordinary soft-deleted one, kept 183 days from today
 * (Purview, "Delete an inactive mailbox": the period "starts on the date when the hold is removed"). A disconnected
 * mailbox gets at least the normal 30 days from today: releasing a hold is not an order to delete, and the admin keeps
 * the usual window to undo it.
 */
export function releaseLitigationHold(mailbox: Mailbox, now: string): Mailbox {
  if (!mailbox.litigationHold) return mailbox;
  switch (mailbox.state) {
    case "Inactive":
      return disconnected(false, addDays(now, windows.releasedInactiveMailboxDays));
    case "Disconnected":
      return disconnected(false, later(mailbox.purgeAfter!, addDays(now, windows.releasedHoldGraceDays)));
    default:
      return { ...mailbox, litigationHold: false };
  }
}

// ---- retention labels ---------------------------------------------------------------------------------------------

export type RetentionLabel = { name: string; retentionDays: number };

export function retentionLabelProblem(retentionDays: number): string | null {
  return Number.isInteger(retentionDays) && retentionDays >= 1 && retentionDays <= windows.labelMaxDays
    ? null
    : messages.labelDays;
}

/**
 * The end of what a label keeps: measured from the item's received date, as Purview does for mail ("the age is based
 * on the date received for incoming email, or the date sent for outgoing email"). A date fixed when the item arrives,
 * so applying a label twice never extends it, and one stored column (`retained_until`) answers the purge's question.
 */
export function retainedUntil(receivedAt: string, label: RetentionLabel | null): string | null {
  return label === null ? null : addDays(receivedAt, label.retentionDays);
}

/** Whether a label still keeps an item: from receivedAt up to, not including, receivedAt + retentionDays. */
export function itemKept(item: { receivedAt: string }, label: RetentionLabel | null, now: string): boolean {
  const until = retainedUntil(item.receivedAt, label);
  return until !== null && !notBefore(now, until);
}

// ---- the purge ----------------------------------------------------------------------------------------------------

/**
 * Whether the purge may delete from this mailbox: only a disconnected one, from its purgeAfter on, and never under a
 * litigation hold. Inactive mailboxes are never purgeable: they are kept as long as their hold stands.
 */
export function mailboxPurgeable(mailbox: Mailbox, now: string): boolean {
  return (
    mailbox.state === "Disconnected" &&
    !mailbox.litigationHold &&
    mailbox.purgeAfter !== null &&
    notBefore(now, mailbox.purgeAfter)
  );
}

/** Whether the purge has work here now: purgeable, and past the earliest moment something kept stops being kept. */
export const purgeDue = (mailbox: Mailbox, now: string) =>
  mailboxPurgeable(mailbox, now) && notBefore(now, mailbox.nextPurgeAt ?? mailbox.purgeAfter!);

export type HoldReason = "litigationHold" | "inactiveMailbox";

/** Why a mailbox past its window (or inactive) keeps everything; null when nothing holds it as a whole. */
export function mailboxHeldBy(mailbox: Mailbox): HoldReason | null {
  if (mailbox.state === "Inactive") return "inactiveMailbox";
  if (mailbox.state === "Disconnected" && mailbox.litigationHold) return "litigationHold";
  return null;
}

export type PurgeItem = { receivedAt: string; sizeBytes: number; label: RetentionLabel | null };

export type MailboxPurge<T extends PurgeItem> = {
  /** The purge applied its rules here (the mailbox was purgeable); false: it kept everything untouched. */
  applied: boolean;
  /** What kept the whole mailbox, when a hold did. */
  heldBy: HoldReason | null;
  deleted: T[];
  kept: T[];
  bytesDeleted: number;
  /** What keeps the kept items: the mailbox's hold, or the names of the labels (sorted, each once). */
  keptBy: string[];
  /** The mailbox after the purge: Purged when nothing is left, else with nextPurgeAt at the earliest label's end. */
  mailbox: Mailbox;
};

/**
 * What one purge at `now` does to one mailbox: deletes every item no label still keeps, marks the mailbox Purged when
 * nothing is left. A mailbox the purge may not touch keeps everything and is returned unchanged. Running it again at
 * the same `now` changes nothing: what it kept is still kept, and a Purged mailbox is not purgeable.
 */
export function purgeMailbox<T extends PurgeItem>(mailbox: Mailbox, items: readonly T[], now: string): MailboxPurge<T> {
  if (!mailboxPurgeable(mailbox, now)) {
    const heldBy = mailboxHeldBy(mailbox);
    return {
      applied: false,
      heldBy,
      deleted: [],
      kept: [...items],
      bytesDeleted: 0,
      keptBy: heldBy ? [heldBy] : [],
      mailbox,
    };
  }
  const deleted: T[] = [];
  const kept: T[] = [];
  const keptBy = new Set<string>();
  let bytesDeleted = 0;
  let nextPurgeAt: string | null = null;
  for (const item of items) {
    if (itemKept(item, item.label, now)) {
      kept.push(item);
      keptBy.add(item.label!.name);
      const until = retainedUntil(item.receivedAt, item.label)!;
      if (nextPurgeAt === null || ms(until) < ms(nextPurgeAt)) nextPurgeAt = until;
    } else {
      deleted.push(item);
      bytesDeleted += item.sizeBytes;
    }
  }
  const after: Mailbox =
    kept.length === 0 ? { ...mailbox, state: "Purged", nextPurgeAt: null } : { ...mailbox, nextPurgeAt };
  return { applied: true, heldBy: null, deleted, kept, bytesDeleted, keptBy: [...keptBy].sort(), mailbox: after };
}

/**
 * After a label is removed from an item or its period shortened, a disconnected mailbox's next purge moves back to
 * its purgeAfter: the purge looks again and finds what became deletable. Looking early costs one read; late would
 * keep mail past its time.
 */
export function afterRetentionChange(mailbox: Mailbox): Mailbox {
  return mailbox.state === "Disconnected" ? { ...mailbox, nextPurgeAt: mailbox.purgeAfter } : mailbox;
}

/** One run's totals, as the ledger row keeps them. */
export type PurgeTally = {
  mailboxes: number;
  mailboxesPurged: number;
  itemsPurged: number;
  bytesPurged: number;
  keptByLabel: Record<string, { items: number; bytes: number }>;
  heldBy: Record<HoldReason, { mailboxes: number; items: number; bytes: number }>;
};

export const emptyTally = (): PurgeTally => ({
  mailboxes: 0,
  mailboxesPurged: 0,
  itemsPurged: 0,
  bytesPurged: 0,
  keptByLabel: {},
  heldBy: {
    litigationHold: { mailboxes: 0, items: 0, bytes: 0 },
    inactiveMailbox: { mailboxes: 0, items: 0, bytes: 0 },
  },
});

/** Adds one mailbox's purge to a run's tally (pure: returns a new tally). */
export function tallyPurge<T extends PurgeItem>(tally: PurgeTally, purge: MailboxPurge<T>): PurgeTally {
  const next = structuredClone(tally);
  if (purge.heldBy) {
    const held = next.heldBy[purge.heldBy];
    held.mailboxes += 1;
    held.items += purge.kept.length;
    held.bytes += purge.kept.reduce((sum, i) => sum + i.sizeBytes, 0);
  }
  if (!purge.applied) return next;
  next.mailboxes += 1;
  if (purge.mailbox.state === "Purged") next.mailboxesPurged += 1;
  next.itemsPurged += purge.deleted.length;
  next.bytesPurged += purge.bytesDeleted;
  for (const item of purge.kept) {
    const name = item.label!.name;
    const entry = next.keptByLabel[name] ?? { items: 0, bytes: 0 };
    next.keptByLabel[name] = entry;
    entry.items += 1;
    entry.bytes += item.sizeBytes;
  }
  return next;
}

// ---- preview ------------------------------------------------------------------------------------------------------

/** The instant a preview date stands for: the end of that UTC day, i.e. what is due by the close of that date. */
export function previewAsOf(date: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return null;
  const start = Date.parse(`${date}T00:00:00.000Z`);
  if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== date) return null;
  return new Date(start + DAY_MS - 1).toISOString();
}

export type PurgePreview = { purgeAfter: string; itemsToDelete: number; itemsKept: number; keptBy: string[] };

/**
 * What a purge at `asOf` would do to one mailbox, or null when the mailbox is not disconnected with a window ending by
 * then (active, inactive and purged mailboxes are not on the way to a purge). The same purgeMailbox decides it.
 */
export function previewMailboxPurge<T extends PurgeItem>(
  mailbox: Mailbox,
  items: readonly T[],
  asOf: string,
): PurgePreview | null {
  if (mailbox.state !== "Disconnected" || mailbox.purgeAfter === null || !notBefore(asOf, mailbox.purgeAfter)) {
    return null;
  }
  const purge = purgeMailbox(mailbox, items, asOf);
  return {
    purgeAfter: mailbox.purgeAfter,
    itemsToDelete: purge.deleted.length,
    itemsKept: purge.kept.length,
    keptBy: purge.keptBy,
  };
}

// ---- OneDrive -----------------------------------------------------------------------------------------------------

/** Active: the user exists (licensed or not: OneDrive outlives the license). Retained: the user was deleted. */
export type OneDriveState = "Active" | "Retained" | "Purged";
export type OneDriveSite = { state: OneDriveState; purgeAfter: string | null };

export type OneDriveChange = {
  /** An enabled OneDrive plan after the change (catalog/service-plans isOneDrivePlan). */
  oneDriveAfter: boolean;
  deletedBefore: boolean;
  deletedAfter: boolean;
};

export type OneDriveOutcome =
  | { kind: "none" }
  | { kind: "stay"; site: OneDriveSite }
  | { kind: "create"; site: OneDriveSite }
  | { kind: "retain"; site: OneDriveSite }
  | { kind: "restore"; site: OneDriveSite };

export function oneDriveRetentionProblem(days: number): string | null {
  return Number.isInteger(days) && days >= windows.oneDriveMinDays && days <= windows.oneDriveMaxDays
    ? null
    : messages.oneDriveDays;
}

/**
 * The OneDrive outcome of a change. Only deleting the user starts retention ("No other action will cause the cleanup
 * process to occur, including blocking the user from signing in or removing the user's license", spec §4), for the
 * tenant's setting at that moment: a changed setting "takes effect for the next user that is deleted", so a site
 * already counting keeps its date. Restoring the user within it keeps the site.
 */
export function oneDriveOutcome(
  site: OneDriveSite | null,
  change: OneDriveChange,
  retentionDays: number,
  now: string,
): OneDriveOutcome {
  if (oneDriveRetentionProblem(retentionDays) !== null) throw new RangeError(messages.oneDriveDays);
  const wantsSite = change.oneDriveAfter && !change.deletedAfter;
  const fresh = (): OneDriveOutcome => ({ kind: "create", site: { state: "Active", purgeAfter: null } });
  if (site === null) return wantsSite ? fresh() : { kind: "none" };
  switch (site.state) {
    case "Active":
      if (change.deletedAfter) {
        return { kind: "retain", site: { state: "Retained", purgeAfter: addDays(now, retentionDays) } };
      }
      return { kind: "stay", site };
    case "Retained":
      if (change.deletedAfter) return { kind: "stay", site };
      if (!notBefore(now, site.purgeAfter!)) return { kind: "restore", site: { state: "Active", purgeAfter: null } };
      return wantsSite ? fresh() : { kind: "stay", site };
    case "Purged":
      return wantsSite ? fresh() : { kind: "stay", site };
  }
}

/** The purge deletes a retained OneDrive from its purgeAfter on; an active one (however unlicensed) never. */
export const oneDrivePurgeable = (site: OneDriveSite, now: string) =>
  site.state === "Retained" && site.purgeAfter !== null && notBefore(now, site.purgeAfter);

// ---- deleted users ------------------------------------------------------------------------------------------------

/** When the scheduled run deletes a soft-deleted user permanently (Graph: "available for up to 30 days"). */
export const userPermanentDeletionDue = (deletedAt: string) => addDays(deletedAt, windows.deletedUserDays);

/**
 * The latest deletion time a run at `asOf` deletes permanently: userPermanentDeletionDue(deletedAt) <= asOf exactly
 * when deletedAt <= this (the store walks deleted users by it).
 */
export const permanentDeletionCutoff = (asOf: string) =>
  new Date(ms(asOf) - windows.deletedUserDays * DAY_MS).toISOString();

/** Whether a deleted user can still be restored from the recycle bin. */
export const userRestorable = (deletedAt: string, now: string) => !notBefore(now, userPermanentDeletionDue(deletedAt));
