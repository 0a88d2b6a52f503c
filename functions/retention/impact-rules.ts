/**
 * Pure rules of the impact preview (POST /api/licensing/preview): what one user's licensing decision changes, told as
 * an admin reads it (SKUs and plans gained and lost, the errors it starts, the mailbox's outcome), and the seat
 * counts a run of decisions leaves. The decisions themselves are licensing's (reconcileUser, decidePage) and the
 * mailbox's retention's (mailboxOutcome): this only compares before with after.
 */
import type { HeldLicense, ReconcileResult, SourceOutcome } from "../licensing/rules.ts";
import { effectivePlanNames, type MailboxOutcome, type MailboxState } from "./rules.ts";

export type ImpactSource = Pick<SourceOutcome, "skuId" | "sourceId" | "state" | "error">;

export type UserImpact = {
  skusGained: string[];
  skusLost: string[];
  plansGained: string[];
  plansLost: string[];
  /** Sources the change leaves in an error state that were not in it before (a new license with no seat, say). */
  errors: { skuId: string; sourceId: string; error: string }[];
};

const sorted = (values: Iterable<string>) => [...values].sort();
const held = (licenses: ReadonlyMap<string, { disabledPlans: readonly string[] }>) =>
  [...licenses].map(([skuId, l]) => ({ skuId, disabledPlans: l.disabledPlans }));

/** One user's change, from what they hold and their sources before to the decision's result. */
export function userImpact(
  before: { held: ReadonlyMap<string, HeldLicense>; sources: readonly ImpactSource[] },
  result: Pick<ReconcileResult, "licenses" | "sources">,
  plansOf: (skuId: string) => readonly { id: string; name: string }[] | undefined,
): UserImpact {
  const plansBefore = effectivePlanNames(held(before.held), plansOf);
  const plansAfter = effectivePlanNames(held(result.licenses), plansOf);
  const erred = new Set(before.sources.filter((s) => s.state === "Error").map((s) => `${s.skuId}|${s.sourceId}`));
  return {
    skusGained: sorted([...result.licenses.keys()].filter((sku) => !before.held.has(sku))),
    skusLost: sorted([...before.held.keys()].filter((sku) => !result.licenses.has(sku))),
    plansGained: sorted([...plansAfter].filter((p) => !plansBefore.has(p))),
    plansLost: sorted([...plansBefore].filter((p) => !plansAfter.has(p))),
    errors: result.sources
      .filter((s) => s.state === "Error" && !erred.has(`${s.skuId}|${s.sourceId}`))
      .map((s) => ({ skuId: s.skuId, sourceId: s.sourceId, error: s.error }))
      .sort((a, b) => a.skuId.localeCompare(b.skuId) || a.sourceId.localeCompare(b.sourceId)),
  };
}

/** Whether a user's impact is worth telling (something they hold, get, lose or fail at moves). */
export const changes = (impact: UserImpact) =>
  impact.skusGained.length +
    impact.skusLost.length +
    impact.plansGained.length +
    impact.plansLost.length +
    impact.errors.length >
  0;

export type MailboxImpact = {
  outcome: Exclude<MailboxOutcome["kind"], "none" | "stay">;
  stateBefore: MailboxState | null;
  stateAfter: MailboxState;
  purgeAfter: string | null;
};

/** A mailbox outcome as the preview tells it: only the ones that move a mailbox. */
export function mailboxImpact(before: MailboxState | null, outcome: MailboxOutcome): MailboxImpact | null {
  if (outcome.kind === "none" || outcome.kind === "stay") return null;
  return {
    outcome: outcome.kind,
    stateBefore: outcome.kind === "create" ? null : before,
    stateAfter: outcome.mailbox.state,
    purgeAfter: outcome.mailbox.purgeAfter,
  };
}

/** Seat counts after a run of decisions: each pool's consumption moved by what they took and freed. */
export function seatsAfter(
  pools: ReadonlyMap<string, { enabled: number; consumed: number }>,
  moves: ReadonlyMap<string, { taken: number; freed: number }>,
) {
  return [...moves]
    .filter(([, m]) => m.taken !== m.freed || m.taken > 0)
    .map(([skuId, m]) => {
      const pool = pools.get(skuId) ?? { enabled: 0, consumed: 0 };
      return {
        skuId,
        enabledUnits: pool.enabled,
        consumedBefore: pool.consumed,
        consumedAfter: pool.consumed + m.taken - m.freed,
      };
    })
    .sort((a, b) => a.skuId.localeCompare(b.skuId));
}

/** Adds a decision's seat moves to a running total. */
export function addMoves(
  total: Map<string, { taken: number; freed: number }>,
  moves: Iterable<readonly [string, { taken: number; freed: number }]>,
) {
  for (const [sku, m] of moves) {
    const t = total.get(sku) ?? { taken: 0, freed: 0 };
    total.set(sku, { taken: t.taken + m.taken, freed: t.freed + m.freed });
  }
  return total;
}
