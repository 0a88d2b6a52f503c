/**
 * Retention's part of every licensing change (licensing/consequences.ts): a user who gains or loses their last enabled
 * Exchange mailbox plan, or who is deleted or restored, gets their mailbox and OneDrive moved in the licensing change's
 * own batch. Imported for its effect by the root files (app.ts, queue.ts, scheduled.ts), so it is registered wherever
 * licensing runs.
 *
 * Per user the pure rules decide whether the mailbox may move at all (rules.mailboxMayChange over the Exchange plans
 * before and after, classified by catalog/service-plans); SQL then applies rules.mailboxOutcome against the mailbox as
 * stored (store.ts), so the transition is right whatever moved the mailbox since the change was read. A group job's
 * page whose SKUs carry no Exchange or OneDrive change (EMS, Entra ID P1) writes nothing here. One user's change
 * (assignLicense, a deletion) is decided by rules.mailboxOutcome and oneDriveOutcome themselves, on the state read
 * with the user's licensing and guarded by the licensing write (decideForOneUser).
 */
import type { AuditUser, BulkAuditRow, BulkShape } from "../audit/store.ts";
import { hasExchangeMailbox, isOneDrivePlan } from "../catalog/service-plans.ts";
import type { Ctx } from "../core/context.ts";
import {
  type DeliveredLicense,
  type LicensingConsequence,
  type PlansOf,
  registerConsequence,
  type SingleUserDecision,
} from "../licensing/consequences.ts";
import {
  addDays,
  type ExchangeChange,
  effectivePlanNames,
  mailboxMayChange,
  mailboxOutcome,
  type OneDriveChange,
  oneDriveOutcome,
  windows,
} from "./rules.ts";
import {
  MAILBOX_STATE_AUDIT,
  type MailboxChangeRow,
  mailboxMoveStatement,
  mailboxTransitionStatements,
  ONEDRIVE_STATE_AUDIT,
  type OneDriveChangeRow,
  oneDriveMoveStatement,
  oneDriveTransitionStatements,
  parseRetentionState,
  type RetentionState,
  retentionStateSql,
  retentionStateText,
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

/** What a user's change may move: the mailbox (its Exchange change) and the OneDrive (its change), or null. */
function mayMove(c: LicensingConsequence, gives: (licenses: readonly DeliveredLicense[]) => Gives) {
  const before = gives(c.before);
  const after = gives(c.after);
  const exchange: ExchangeChange = {
    exchangeBefore: before.exchange,
    exchangeAfter: after.exchange,
    deletedBefore: c.deletedBefore,
    deletedAfter: c.deletedAfter,
  };
  const oneDrive: OneDriveChange = {
    oneDriveAfter: after.oneDrive,
    deletedBefore: c.deletedBefore,
    deletedAfter: c.deletedAfter,
  };
  return {
    exchange: mailboxMayChange(exchange) ? exchange : null,
    // A OneDrive is created with the first OneDrive plan and kept when the license goes: only gaining one, deleting
    // and restoring can move it.
    oneDrive: (after.oneDrive && !before.oneDrive) || c.deletedBefore !== c.deletedAfter ? oneDrive : null,
  };
}

/** The users whose mailbox or OneDrive the change may move, as the transition statements take them. */
export function retentionChanges(changes: readonly LicensingConsequence[], plansOf: PlansOf) {
  const gives = classifier(plansOf);
  const mailboxes: MailboxChangeRow[] = [];
  const oneDrives: OneDriveChangeRow[] = [];
  for (const c of changes) {
    const { exchange, oneDrive } = mayMove(c, gives);
    const deleted = c.deletedAfter ? 1 : 0;
    if (exchange) mailboxes.push([c.userSeq, exchange.exchangeAfter && !c.deletedAfter ? 1 : 0, deleted]);
    if (oneDrive) oneDrives.push([c.userSeq, oneDrive.oneDriveAfter && !c.deletedAfter ? 1 : 0, deleted]);
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

/**
 * One user's change, decided by the rules themselves on the mailbox and OneDrive read with the user's licensing
 * (consequences.ts, `single`): what moves is written in short statements, its audit rows go with the licensing
 * change's, and the state after is known for the next change.
 */
function decideForOneUser(
  ctx: Ctx,
  change: LicensingConsequence,
  stateText: string,
  user: AuditUser,
  plansOf: PlansOf,
): SingleUserDecision {
  return oneUserRetentionWrites(ctx, { seq: change.userSeq, ...user }, mayMove(change, classifier(plansOf)), stateText);
}

/** decideForOneUser once the change's plans are classified: what may move (mayMove), on the state as read. */
export function oneUserRetentionWrites(
  ctx: Ctx,
  user: AuditUser & { seq: number },
  moves: { exchange: ExchangeChange | null; oneDrive: OneDriveChange | null },
  stateText: string,
): SingleUserDecision {
  const { exchange, oneDrive } = moves;
  // Nothing can move, whatever is stored: no guard on it either.
  if (!exchange && !oneDrive) return { statements: [], audits: [], readState: false, stateAfter: stateText };
  const now = ctx.now.toISOString();
  const state = parseRetentionState(stateText);
  const after: RetentionState = { ...state };
  const statements: D1PreparedStatement[] = [];
  const audits: BulkAuditRow[] = [];
  if (exchange) {
    const outcome = mailboxOutcome(state.mailbox && { ...state.mailbox, nextPurgeAt: null }, exchange, now);
    if (outcome.kind !== "none" && outcome.kind !== "stay") {
      const create = outcome.kind === "create";
      statements.push(mailboxMoveStatement(ctx, user.seq, create ? { create } : { create, to: outcome.mailbox }));
      after.mailbox = outcome.mailbox;
      audits.push(moveAudit(MAILBOX_STATE_AUDIT, user, create ? "" : state.mailbox!.state, outcome.mailbox.state));
    }
  }
  if (oneDrive) {
    const outcome = oneDriveOutcome(state.oneDrive, oneDrive, state.oneDriveDays, now);
    // As the set-based statements: a site whose retention ended while its user was away is the purge's to take (a new
    // one beside it cannot be: one live site per user). It cannot happen: the recycle bin's 30 days end first.
    const blocked = outcome.kind === "create" && state.oneDrive !== null && state.oneDrive.state !== "Purged";
    if (outcome.kind !== "none" && outcome.kind !== "stay" && !blocked) {
      const create = outcome.kind === "create";
      statements.push(oneDriveMoveStatement(ctx, user.seq, create ? { create } : { create, to: outcome.site }));
      after.oneDrive = outcome.site;
      audits.push(moveAudit(ONEDRIVE_STATE_AUDIT, user, create ? "" : state.oneDrive!.state, outcome.site.state));
    }
  }
  return { statements, audits, readState: true, stateAfter: retentionStateText(after) };
}

const moveAudit = (
  shape: BulkShape,
  { id, displayName, userPrincipalName }: AuditUser,
  oldValue: string,
  newValue: string,
): BulkAuditRow => ({
  shape,
  entries: [{ user: { id, displayName, userPrincipalName }, oldValue, newValue }],
});

registerConsequence({
  name: "retention",
  // [userSeq, 0|1, 0|1], in each of the two lists: a seq of up to 16 digits and the JSON around it.
  bytesPerUser: 32,
  writes: retentionWrites,
  single: { stateSql: (userSeq) => retentionStateSql(userSeq, "?1"), decide: decideForOneUser },
});
