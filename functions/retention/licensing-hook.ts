/**
 * Retention's part of every licensing change (licensing/consequences.ts): a user who gains or loses their last enabled
 * Exchange mailbox plan, or who is deleted or restored, gets their mailbox and OneDrive moved in the licensing change's
 * own batch. Imported for its effect by the root files (app.ts, queue.ts, scheduled.ts), so it is registered wherever
 * licensing runs.
 *
 * Per user the pure rules decide whether the mailbox may move at all (rules.mailboxMayChange over the Exchange plans
 * before and after, classified by catalog/service-plans); SQL then applies rules.mailboxOutcome against the mailbox as
 * stored (store.ts), so the transition is right whatever moved the mailbox since the change was read. A group job's
 * page whose SKUs carry no Exchange or OneDrive change (EMS, Entra ID P1) writes nothing here.
 */
import { hasExchangeMailbox, isOneDrivePlan } from "../catalog/service-plans.ts";
import type { Ctx } from "../core/context.ts";
import {
  type DeliveredLicense,
  type LicensingConsequence,
  type PlansOf,
  registerConsequence,
} from "../licensing/consequences.ts";
import { addDays, effectivePlanNames, mailboxMayChange, windows } from "./rules.ts";
import {
  type MailboxChangeRow,
  mailboxTransitionStatements,
  type OneDriveChangeRow,
  oneDriveTransitionStatements,
} from "./store.ts";

/** What a user's licenses give, as the mailbox and OneDrive rules need it. */
type Gives = { exchange: boolean; oneDrive: boolean };

/** Classifies each distinct set of licenses once: a page of 2,000 users mostly shares a handful. */
function classifier(plansOf: PlansOf) {
  const known = new Map<string, Gives>();
  return (licenses: readonly DeliveredLicense[]): Gives => {
    const key = licenses.map((l) => `${l.skuId}:${[...l.disabledPlans].sort().join(",")}`).join(";");
    let gives = known.get(key);
    if (!gives) {
      const names = effectivePlanNames(licenses, plansOf);
      gives = { exchange: hasExchangeMailbox(names), oneDrive: [...names].some(isOneDrivePlan) };
      known.set(key, gives);
    }
    return gives;
  };
}

/** The users whose mailbox or OneDrive the change may move, as the transition statements take them. */
export function retentionChanges(changes: readonly LicensingConsequence[], plansOf: PlansOf) {
  const gives = classifier(plansOf);
  const mailboxes: MailboxChangeRow[] = [];
  const oneDrives: OneDriveChangeRow[] = [];
  for (const c of changes) {
    const before = gives(c.before);
    const after = gives(c.after);
    const deleted = c.deletedAfter ? 1 : 0;
    const change = {
      exchangeBefore: before.exchange,
      exchangeAfter: after.exchange,
      deletedBefore: c.deletedBefore,
      deletedAfter: c.deletedAfter,
    };
    if (mailboxMayChange(change)) mailboxes.push([c.userSeq, after.exchange && !c.deletedAfter ? 1 : 0, deleted]);
    // A OneDrive is created with the first OneDrive plan and kept when the license goes: only gaining one, deleting
    // and restoring can move it.
    if ((after.oneDrive && !before.oneDrive) || c.deletedBefore !== c.deletedAfter) {
      oneDrives.push([c.userSeq, after.oneDrive && !c.deletedAfter ? 1 : 0, deleted]);
    }
  }
  return { mailboxes, oneDrives };
}

/** The statements for the change's batch. */
export function retentionWrites(
  ctx: Ctx,
  changes: readonly LicensingConsequence[],
  plansOf: PlansOf,
): D1PreparedStatement[] {
  const { mailboxes, oneDrives } = retentionChanges(changes, plansOf);
  return [
    ...mailboxTransitionStatements(ctx, mailboxes, addDays(ctx.now.toISOString(), windows.disconnectedMailboxDays)),
    ...oneDriveTransitionStatements(ctx, oneDrives),
  ];
}

registerConsequence({
  name: "retention",
  // [userSeq, 0|1, 0|1], in each of the two lists: a seq of up to 16 digits and the JSON around it.
  bytesPerUser: 32,
  writes: retentionWrites,
});
