import type { ReconcileInput, ReconcileResult } from "../../functions/licensing/rules.ts";

/**
 * The input of a reprocess right after `first` was stored, nothing else having changed: its licenses held, its seat
 * moves applied to the pools, each source's outcome as its previous. Built here, independently of the reconciler's
 * own settling, so tests of that settling check it against what a real reprocess would see.
 */
export function reprocessInput(input: ReconcileInput, first: ReconcileResult, now: string): ReconcileInput {
  const seats = new Map(input.seatsAvailable);
  for (const s of first.seatsTaken) seats.set(s, (seats.get(s) ?? 0) - 1);
  for (const s of first.seatsFreed) seats.set(s, (seats.get(s) ?? 0) + 1);
  const outcomes = new Map(first.sources.map((s) => [`${s.sourceId}|${s.skuId}`, s]));
  return {
    ...input,
    now,
    held: first.licenses,
    seatsAvailable: seats,
    intents: input.intents.map((i) => {
      const o = outcomes.get(`${i.sourceId}|${i.skuId}`)!;
      return {
        skuId: i.skuId,
        sourceId: i.sourceId,
        disabledPlans: i.disabledPlans,
        previous: { state: o.state, error: o.error, disabledPlans: o.disabledPlans, lastUpdatedAt: o.lastUpdatedAt },
      };
    }),
  };
}
