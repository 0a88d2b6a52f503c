/**
 * The consequences of a licensing change: what other capabilities must write when a user's licenses change, in the
 * same batch as the change. Licensing knows nothing of them (retention's mailboxes and OneDrives register here, at the
 * top of the layers); both write paths — one user (`userLicensingWrites`) and a page of up to 2,000 users
 * (`pageWrites`) — hand every registered contributor the users whose licensing moved, and append its statements.
 *
 * A contributor must be set-based (a handful of statements for a whole page, the users as JSON lists in one
 * parameter) and must bind at most `bytesPerUser` bytes per user in any one value: usersThatFit counts it with
 * licensing's own lists, so no page binds a value D1 refuses.
 *
 * A contributor may also offer a path for one user (`single`): the user's licensing read brings the state it decides
 * on, the pure rules decide in the Worker, and the batch writes only what moves, in short statements. A single
 * user's change is the API's hot path, and every statement in its batch has a cost of its own in D1 however few rows
 * it touches: the set-based path writes its statements whatever moves, this one only a statement per thing that does. Deciding on state read earlier is safe because the licensing guard also checks that
 * state is unchanged when the batch runs; if it moved, the change is decided again on a fresh read.
 */
import type { AuditUser, BulkAuditRow } from "../audit/store.ts";
import type { PlanRef } from "../catalog/store.ts";
import type { Ctx } from "../core/context.ts";

/** A license as it delivers its plans: its SKU and the plans disabled on it (ids). */
export type DeliveredLicense = { skuId: string; disabledPlans: readonly string[] };

/** One user's side of a licensing change. */
export type LicensingConsequence = {
  userSeq: number;
  /**
   * The licenses that delivered their plans before and after the change: the licenses held, less those of SKUs the
   * tenant's subscriptions no longer deliver (every subscription Deleted or LockedOut).
   */
  before: readonly DeliveredLicense[];
  after: readonly DeliveredLicense[];
  /** The user is deleted (in the recycle bin) before and after: a deletion is false → true, a restore the reverse. */
  deletedBefore: boolean;
  deletedAfter: boolean;
};

/** The plans of a SKU, as the catalogue names them (null for a SKU the catalogue does not hold). */
export type PlansOf = (skuId: string) => readonly PlanRef[] | undefined;

export type ConsequenceContributor = {
  /** For logs and tests. */
  name: string;
  /** The most this contributor binds per user in one value, in bytes. */
  bytesPerUser: number;
  /** The statements for these users' changes, for the change's own batch (none when nothing follows). */
  writes(ctx: Ctx, changes: readonly LicensingConsequence[], plansOf: PlansOf): D1PreparedStatement[];
  single?: SingleUserConsequence;
};

/** A contributor's path for one user's change, decided on state read with the user's licensing. */
export type SingleUserConsequence = {
  /**
   * A scalar SQL expression giving, as text, the state this contributor decides on for the user whose seq is the SQL
   * expression `userSeq` (the tenant is ?1): read with the user's licensing, and compared by the write's guard.
   */
  stateSql(userSeq: string): string;
  /** One user's change decided on `state`, the text stateSql gave when read (or as `stateAfter` predicted it). */
  decide(ctx: Ctx, change: LicensingConsequence, state: string, user: AuditUser, plansOf: PlansOf): SingleUserDecision;
};

export type SingleUserDecision = {
  statements: D1PreparedStatement[];
  /** Audit rows, written by the licensing change's own audit statement. */
  audits: BulkAuditRow[];
  /** The decision read `state`: the batch's guard checks it is still what was read. */
  readState: boolean;
  /** The state text once written, as stateSql will give it (undefined: not known, read it afresh next time). */
  stateAfter: string | undefined;
};

/** Every contributor's part in one user's change: statements, audit rows, the states to guard, and the states after. */
export type SingleUserConsequences = {
  statements: D1PreparedStatement[];
  audits: BulkAuditRow[];
  /** SQL expression and the text it must still give, per contributor whose decision read its state. */
  guards: { sql: string; state: string }[];
  /** Each contributor's state after the change (undefined when one is not known). */
  statesAfter: ReadonlyMap<string, string> | undefined;
};

/** The state columns a user's licensing read adds, one per contributor with a single-user path: [name, SQL]. */
export const consequenceStateColumns = (userSeq: string): [string, string][] =>
  [...contributors.values()].flatMap((c) =>
    c.single ? [[c.name, c.single.stateSql(userSeq)] as [string, string]] : [],
  );

/**
 * One user's change: contributors with a single-user path decide on the states read with the user (`states`, by
 * contributor name); the others write their set-based statements for a list of one.
 */
export function singleUserConsequences(
  ctx: Ctx,
  change: LicensingConsequence,
  states: ReadonlyMap<string, string>,
  user: AuditUser,
  plansOf: PlansOf,
): SingleUserConsequences {
  const out: SingleUserConsequences = { statements: [], audits: [], guards: [], statesAfter: undefined };
  const after = new Map<string, string>();
  let known = true;
  for (const c of contributors.values()) {
    const state = states.get(c.name);
    if (!c.single || state === undefined) {
      out.statements.push(...c.writes(ctx, [change], plansOf));
      continue;
    }
    const decision = c.single.decide(ctx, change, state, user, plansOf);
    out.statements.push(...decision.statements);
    out.audits.push(...decision.audits);
    if (decision.readState) out.guards.push({ sql: c.single.stateSql("users.seq"), state });
    if (decision.stateAfter === undefined) known = false;
    else after.set(c.name, decision.stateAfter);
  }
  out.statesAfter = known ? after : undefined;
  return out;
}

const contributors = new Map<string, ConsequenceContributor>();

/** Registers a contributor (once per name: the root files import its module for the effect, however often). */
export function registerConsequence(contributor: ConsequenceContributor) {
  contributors.set(contributor.name, contributor);
}

/** The names registered, for tests that must know retention's contributor is in place. */
export const registeredConsequences = () => [...contributors.keys()];

/** Every contributor's statements for these changes, in registration order. */
export function consequenceWrites(
  ctx: Ctx,
  changes: readonly LicensingConsequence[],
  plansOf: PlansOf,
): D1PreparedStatement[] {
  if (changes.length === 0) return [];
  return [...contributors.values()].flatMap((c) => c.writes(ctx, changes, plansOf));
}

/** What the contributors bind per user at most (usersThatFit adds it to every user). */
export const consequenceBytesPerUser = () => Math.max(0, ...[...contributors.values()].map((c) => c.bytesPerUser));

/** The licenses among `held` whose SKU still delivers. */
export function deliveredLicenses(
  held: ReadonlyMap<string, { disabledPlans: readonly string[] }>,
  delivers: (skuId: string) => boolean,
): DeliveredLicense[] {
  const out: DeliveredLicense[] = [];
  for (const [skuId, license] of held) if (delivers(skuId)) out.push({ skuId, disabledPlans: license.disabledPlans });
  return out;
}
