import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Ctx } from "../../functions/core/context.ts";
import { decidePage } from "../../functions/licensing/page-rules.ts";
import type { Page, TenantLicensing } from "../../functions/licensing/page-store.ts";
import {
  changesNothing,
  DIRECT,
  type HeldLicense,
  type LicenseError,
  type PlanRule,
  type ReconcileInput,
  type ReconcileResult,
  reconcileUser,
  type SourceIntent,
  type SourceState,
} from "../../functions/licensing/rules.ts";
import type { GroupGrant, SourceRow } from "../../functions/licensing/store.ts";
import { reprocessInput } from "../helpers/reprocess.ts";

// Properties of the pure reconciler and of page decisions, over random small catalogues, rules and intents.

const PLANS = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"] as const;
const GROUPS = ["g1", "g2", "g3"] as const;
const LOCATIONS = ["US", "CN", "DE"] as const;
const NOW = "2026-03-01T10:00:00.000Z";
const LATER = "2026-03-02T10:00:00.000Z";
const OLD = "2025-12-01T00:00:00.000Z";

type Catalogue = Map<string, string[]>;

const catalogueArb: fc.Arbitrary<Catalogue> = fc
  .array(fc.uniqueArray(fc.constantFrom(...PLANS), { minLength: 2, maxLength: 6 }), { minLength: 3, maxLength: 5 })
  .map((skus) => new Map(skus.map((plans, i) => [`s${i}`, plans])));

const ruleArb: fc.Arbitrary<PlanRule> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...PLANS), fc.constantFrom(...PLANS))
    .filter(([a, b]) => a !== b)
    .map(([a, b]) => ({
      kind: "exclusive" as const,
      servicePlanId: a,
      relatedServicePlanIds: [b],
      usageLocation: null,
    })),
  fc
    .tuple(fc.constantFrom(...PLANS), fc.uniqueArray(fc.constantFrom(...PLANS), { minLength: 1, maxLength: 2 }))
    .filter(([a, related]) => !related.includes(a))
    .map(([a, related]) => ({
      kind: "requires" as const,
      servicePlanId: a,
      relatedServicePlanIds: related,
      usageLocation: null,
    })),
  fc.tuple(fc.constantFrom(...PLANS), fc.constantFrom(...LOCATIONS)).map(([a, location]) => ({
    kind: "prohibited_location" as const,
    servicePlanId: a,
    relatedServicePlanIds: [],
    usageLocation: location,
  })),
);
const rulesArb = fc.array(ruleArb, { maxLength: 4 });

const stateArb: fc.Arbitrary<{ state: SourceState; error: LicenseError | "None" }> = fc.oneof(
  fc.constant({ state: "Active" as const, error: "None" as const }),
  fc
    .constantFrom<LicenseError>(
      "CountViolation",
      "MutuallyExclusiveViolation",
      "DependencyViolation",
      "ProhibitedInUsageLocationViolation",
      "Other",
    )
    .map((error) => ({ state: "Error" as const, error })),
);

/** Random disabled plans for a SKU: mostly its own plans, sometimes one outside it. */
const disabledArb = (plans: readonly string[]) =>
  fc.subarray([...plans, "p-foreign"], { maxLength: Math.min(3, plans.length) });

/** A previous outcome: absent, the same disabled plans (often), or different ones. */
const previousArb = (plans: readonly string[], disabled: string[]): fc.Arbitrary<SourceIntent["previous"]> =>
  fc.option(
    fc
      .record({
        outcome: stateArb,
        same: fc.boolean(),
        other: disabledArb(plans),
      })
      .map(({ outcome, same, other }) => ({
        ...outcome,
        disabledPlans: same ? disabled : other,
        lastUpdatedAt: OLD,
      })),
    { nil: undefined },
  );

const intentArb = (sourceId: string, skuId: string, plans: readonly string[]): fc.Arbitrary<SourceIntent> =>
  disabledArb(plans).chain((disabledPlans) =>
    previousArb(plans, disabledPlans).map((previous) => ({
      skuId,
      sourceId,
      disabledPlans,
      ...(previous ? { previous } : {}),
    })),
  );

const intentsArb = (catalogue: Catalogue): fc.Arbitrary<SourceIntent[]> => {
  const skus = [...catalogue.keys()];
  const forSource = (sourceId: string, minLength: number) =>
    fc
      .subarray(skus, { minLength, maxLength: sourceId === DIRECT ? 3 : 2 })
      .chain((chosen) => fc.tuple(...chosen.map((s) => intentArb(sourceId, s, catalogue.get(s)!))))
      .map((xs) => xs as SourceIntent[]);
  return fc
    .tuple(forSource(DIRECT, 0), fc.subarray([...GROUPS]))
    .chain(([direct, groups]) =>
      fc.tuple(fc.constant(direct), ...groups.map((g) => forSource(g, 1))).map(([d, ...gs]) => [...d, ...gs.flat()]),
    )
    .chain((intents) => fc.shuffledSubarray(intents, { minLength: intents.length, maxLength: intents.length }));
};

const heldArb = (catalogue: Catalogue): fc.Arbitrary<Map<string, HeldLicense>> =>
  fc
    .subarray([...catalogue.keys()])
    .chain((skus) => fc.tuple(...skus.map((s) => disabledArb(catalogue.get(s)!).map((d) => [s, d] as const))))
    .map((pairs) => new Map(pairs.map(([s, d]) => [s, { disabledPlans: d, assignedAt: OLD }])));

const seatsArb = (catalogue: Catalogue): fc.Arbitrary<Map<string, number>> =>
  fc
    .tuple(...[...catalogue.keys()].map(() => fc.integer({ min: -2, max: 3 })))
    .map((counts) => new Map([...catalogue.keys()].map((s, i) => [s, counts[i]!])));

const inputArb: fc.Arbitrary<ReconcileInput> = fc.tuple(catalogueArb, rulesArb).chain(([catalogue, rules]) =>
  fc.record({
    usageLocation: fc.option(fc.constantFrom(...LOCATIONS), { nil: null }),
    tenantCountry: fc.constantFrom("US", "CN", ""),
    intents: intentsArb(catalogue),
    held: heldArb(catalogue),
    seatsAvailable: seatsArb(catalogue),
    skuPlans: fc.constant(catalogue as ReadonlyMap<string, readonly string[]>),
    rules: fc.constant(rules),
    now: fc.constant(NOW),
  }),
);

/**
 * Inputs as the database can hold them: a source that was Active means its SKU is held (user_licenses derives from
 * Active sources), and a held SKU's effective plans follow its Active sources. Extra held SKUs model removed sources.
 */
const consistentInputArb: fc.Arbitrary<ReconcileInput> = inputArb.map((input) => {
  const held = new Map(input.held);
  for (const i of input.intents) {
    if (i.previous?.state === "Active" && !held.has(i.skuId)) held.set(i.skuId, { disabledPlans: [], assignedAt: OLD });
  }
  return { ...input, held };
});

const enabledPlans = (input: Pick<ReconcileInput, "skuPlans">, skuId: string, disabled: readonly string[]) =>
  (input.skuPlans.get(skuId) ?? []).filter((p) => !disabled.includes(p));

const sorted = (xs: Iterable<string>) => [...xs].sort();

function activeSources(result: ReconcileResult) {
  return result.sources.filter((s) => s.state === "Active");
}

const RUNS = { numRuns: 400 };

/**
 * Sources refused as MutuallyExclusiveViolation although no conflicting plan is left: the other plan is neither in
 * the source's own unit nor enabled by any Active source (the regression examples in licensing-rules.test.ts).
 */
function unjustifiedExclusions(input: ReconcileInput, result: ReconcileResult) {
  const finalPlans = new Set(activeSources(result).flatMap((s) => enabledPlans(input, s.skuId, s.disabledPlans)));
  return result.sources.filter((s) => {
    if (s.error !== "MutuallyExclusiveViolation") return false;
    const unit = result.sources.filter(
      (o) => o.sourceId === s.sourceId && (s.sourceId !== DIRECT || o.skuId === s.skuId),
    );
    const mine = new Set(unit.flatMap((o) => enabledPlans(input, o.skuId, o.disabledPlans)));
    const present = new Set([...mine, ...finalPlans]);
    return !input.rules.some(
      (r) =>
        r.kind === "exclusive" &&
        r.relatedServicePlanIds.some(
          (b) => (mine.has(r.servicePlanId) && present.has(b)) || (mine.has(b) && present.has(r.servicePlanId)),
        ),
    );
  });
}

/** Reconciles, then reconciles the result again (held = result, previous = result): nothing may change. */
function checkIdempotent(input: ReconcileInput) {
  const first = reconcileUser(input);
  const again = reconcileUser(reprocessInput(input, first, LATER));
  // Licenses, states and errors must not move; sources that stay as they were keep their timestamp.
  const view = (r: ReconcileResult) => ({
    licenses: [...r.licenses].sort(([a], [b]) => a.localeCompare(b)),
    sources: r.sources
      .map((s) => `${s.sourceId}|${s.skuId}|${s.state}|${s.error}|${s.state === "Active" ? s.lastUpdatedAt : ""}`)
      .sort(),
  });
  expect(view(again)).toEqual(view(first));
  expect(again.seatsTaken).toEqual([]);
  expect(again.seatsFreed).toEqual([]);
  // So a write path may skip it: the second decision changes nothing that is stored.
  expect(changesNothing({ sources: first.sources, held: first.licenses }, again)).toBe(true);
}

describe("reconcileUser properties", () => {
  it("(a) every licensed SKU has an Active source and every Active source's SKU is licensed", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const r = reconcileUser(input);
        expect(sorted(r.licenses.keys())).toEqual(sorted(new Set(activeSources(r).map((s) => s.skuId))));
        // One outcome per intent, states only Active or Error, Active ⇔ None.
        expect(r.sources).toHaveLength(input.intents.length);
        for (const s of r.sources) expect(s.state === "Active").toBe(s.error === "None");
      }),
      RUNS,
    );
  });

  it("(b) effective disabledPlans = intersection of the Active sources' disabledPlans, within the SKU's plans", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const r = reconcileUser(input);
        for (const [skuId, license] of r.licenses) {
          const plans = input.skuPlans.get(skuId) ?? [];
          const sources = activeSources(r).filter((s) => s.skuId === skuId);
          const expected = plans.filter((p) => sources.every((s) => s.disabledPlans.includes(p)));
          expect(sorted(license.disabledPlans)).toEqual(sorted(expected));
        }
      }),
      RUNS,
    );
  });

  it("(c) seatsTaken = licensed − held, seatsFreed = held − licensed, never more than max(0, available) per SKU", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const r = reconcileUser(input);
        const licensed = new Set(r.licenses.keys());
        expect(r.seatsTaken).toEqual(sorted([...licensed].filter((s) => !input.held.has(s))));
        expect(r.seatsFreed).toEqual(sorted([...input.held.keys()].filter((s) => !licensed.has(s))));
        for (const sku of input.skuPlans.keys()) {
          const taken = r.seatsTaken.filter((s) => s === sku).length;
          expect(taken).toBeLessThanOrEqual(Math.max(0, input.seatsAvailable.get(sku) ?? 0));
        }
        // assignedAt: kept for held SKUs, now for new ones.
        for (const [sku, license] of r.licenses) {
          expect(license.assignedAt).toBe(input.held.get(sku)?.assignedAt ?? input.now);
        }
      }),
      RUNS,
    );
  });

  it("(d) all or nothing: every group's intents are all Active or all Error, with exactly one culprit", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const r = reconcileUser(input);
        for (const group of GROUPS) {
          const mine = r.sources.filter((s) => s.sourceId === group);
          if (mine.length === 0) continue;
          const states = new Set(mine.map((s) => s.state));
          expect(states.size).toBe(1);
          if (states.has("Error")) {
            expect(mine.filter((s) => s.error !== "Other")).toHaveLength(1);
          }
        }
      }),
      RUNS,
    );
  });

  it("(e) no two enabled plans of the final set violate an exclusive rule; every requires is satisfied in scope", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const r = reconcileUser(input);
        const active = activeSources(r);
        const all = new Set(active.flatMap((s) => enabledPlans(input, s.skuId, s.disabledPlans)));
        for (const rule of input.rules) {
          if (rule.kind !== "exclusive" || !all.has(rule.servicePlanId)) continue;
          for (const other of rule.relatedServicePlanIds)
            expect(all.has(other), `${rule.servicePlanId}/${other}`).toBe(false);
        }
        for (const source of active) {
          const scope =
            source.sourceId === DIRECT
              ? all
              : new Set(
                  active
                    .filter((s) => s.sourceId === source.sourceId)
                    .flatMap((s) => enabledPlans(input, s.skuId, s.disabledPlans)),
                );
          for (const plan of enabledPlans(input, source.skuId, source.disabledPlans)) {
            for (const rule of input.rules) {
              if (rule.kind !== "requires" || rule.servicePlanId !== plan) continue;
              expect(
                rule.relatedServicePlanIds.some((p) => scope.has(p)),
                `${source.sourceId}:${plan}`,
              ).toBe(true);
            }
          }
          // And no Active source has an enabled plan prohibited where it is licensed.
          const location = input.usageLocation ?? (source.sourceId === DIRECT ? null : input.tenantCountry);
          expect(location).toBeTruthy();
          for (const plan of enabledPlans(input, source.skuId, source.disabledPlans)) {
            const prohibited = input.rules.some(
              (rule) =>
                rule.kind === "prohibited_location" &&
                rule.servicePlanId === plan &&
                rule.usageLocation?.toUpperCase() === location?.toUpperCase(),
            );
            expect(prohibited).toBe(false);
          }
        }
      }),
      RUNS,
    );
  });

  it("(f) idempotence: reconciling the result again changes no license or state and moves no seat", () => {
    fc.assert(
      fc.property(fc.oneof(consistentInputArb, inputArb), (input) => {
        // Nobody is refused for a conflict with a unit they don't end up holding.
        expect(unjustifiedExclusions(input, reconcileUser(input))).toEqual([]);
        checkIdempotent(input);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// decidePage: users of one page decided in order, sharing the seat pools.

type PageUser = Page["users"][number];

const pageUserArb = (catalogue: Catalogue, index: number): fc.Arbitrary<PageUser> =>
  fc
    .record({
      usageLocation: fc.option(fc.constantFrom(...LOCATIONS), { nil: null }),
      intents: intentsArb(catalogue),
      held: heldArb(catalogue),
    })
    .map(({ usageLocation, intents, held }) => {
      // Stored rows: every intent with a previous outcome is a license_sources row; a direct intent always is.
      const sources: SourceRow[] = intents
        .filter((i) => i.previous || i.sourceId === DIRECT)
        .map((i) => ({
          skuId: i.skuId,
          sourceId: i.sourceId,
          disabledPlans: i.sourceId === DIRECT ? i.disabledPlans : (i.previous?.disabledPlans ?? []),
          state: i.previous?.state ?? "Active",
          error: i.previous?.error ?? "None",
          lastUpdatedAt: i.previous?.lastUpdatedAt ?? OLD,
        }));
      const grants: GroupGrant[] = intents
        .filter((i) => i.sourceId !== DIRECT)
        .map((i) => ({ groupId: i.sourceId, skuId: i.skuId, disabledPlans: i.disabledPlans }));
      return {
        seq: index + 1,
        id: `u${index}`,
        displayName: `User ${index}`,
        userPrincipalName: `u${index}@contoso.test`,
        usageLocation,
        licenseVersion: 1,
        sources,
        sourcesFingerprint: "",
        grants,
        held,
      };
    });

const pageArb = fc.tuple(catalogueArb, rulesArb, fc.integer({ min: 2, max: 6 })).chain(([catalogue, rules, n]) =>
  fc.record({
    tenant: fc
      .constantFrom("US", "CN", "")
      .map(
        (country): TenantLicensing => ({ country, rules, skus: new Map(), skuPlans: catalogue, delivering: new Set() }),
      ),
    users: fc.tuple(...Array.from({ length: n }, (_, i) => pageUserArb(catalogue, i))),
    pools: fc
      .tuple(
        ...[...catalogue.keys()].map(() =>
          fc.record({ enabled: fc.integer({ min: 0, max: 3 }), over: fc.integer({ min: -3, max: 2 }) }),
        ),
      )
      .map(
        (ps) =>
          // consumed = enabled − available with available in −2..3 (over-allocated pools included).
          new Map(
            [...catalogue.keys()].map((s, i) => {
              const { enabled, over } = ps[i]!;
              const available = Math.max(-2, Math.min(3, -over));
              return [s, { enabled, consumed: Math.max(0, enabled - available) }];
            }),
          ),
      ),
  }),
);

const fakeCtx = { now: new Date(NOW) } as unknown as Ctx;

describe("decidePage properties", () => {
  it("(g) a page never takes more seats per SKU than were available at the start (plus what it freed earlier)", () => {
    fc.assert(
      fc.property(pageArb, ({ tenant, users, pools }) => {
        const page: Pick<Page, "users" | "pools"> = { users, pools };
        const start = new Map([...pools].map(([s, p]) => [s, p.enabled - p.consumed]));
        const decision = decidePage(fakeCtx.now.toISOString(), tenant, page);
        expect(decision.outcomes.map((o) => o.userId)).toEqual(users.map((u) => u.id));

        const running = new Map(start);
        const totals = new Map<string, { taken: number; freed: number }>();
        for (const { result } of decision.outcomes) {
          for (const sku of result.seatsTaken) {
            // A seat is only taken while one is free at that point of the page.
            expect(running.get(sku) ?? 0, `take ${sku}`).toBeGreaterThanOrEqual(1);
            running.set(sku, (running.get(sku) ?? 0) - 1);
            const t = totals.get(sku) ?? { taken: 0, freed: 0 };
            t.taken++;
            totals.set(sku, t);
          }
          for (const sku of result.seatsFreed) {
            running.set(sku, (running.get(sku) ?? 0) + 1);
            const t = totals.get(sku) ?? { taken: 0, freed: 0 };
            t.freed++;
            totals.set(sku, t);
          }
        }
        for (const [sku, pool] of pools) {
          const t = totals.get(sku) ?? { taken: 0, freed: 0 };
          const s = start.get(sku)!;
          expect(t.taken - t.freed, sku).toBeLessThanOrEqual(Math.max(0, s));
          expect(t.taken, sku).toBeLessThanOrEqual(Math.max(0, s) + t.freed);
          // The page's writes guard consumed ≤ enabled whenever it takes a seat: that guard must hold.
          if (t.taken > 0) expect(pool.consumed + t.taken - t.freed, sku).toBeLessThanOrEqual(pool.enabled);
        }
        // seatMoves are exactly the outcomes' moves (unchanged users move nothing).
        const moves = new Map([...decision.seatMoves].filter(([, m]) => m.taken > 0 || m.freed > 0));
        expect(new Map([...totals].filter(([, m]) => m.taken > 0 || m.freed > 0))).toEqual(moves);
      }),
      { numRuns: 300 },
    );
  });

  it("each user is decided exactly as reconcileUser would with the pools left by the users before", () => {
    fc.assert(fc.property(pageArb, decidedAsAlone), { numRuns: 200 });
  });

  // decidePage decides each distinct case of a page once: pages of copies of a few users, with seats that run out
  // part-way, check that users sharing their licensing still get what deciding them one by one gives.
  it("users sharing their licensing are decided as they would be alone, also as seats run out", () => {
    const copiesArb = pageArb.chain(({ tenant, users, pools }) =>
      fc.array(fc.nat(users.length - 1), { minLength: 4, maxLength: 14 }).map((picks) => ({
        tenant,
        pools,
        users: picks.map((pick, i) => ({ ...users[pick]!, seq: i + 1, id: `copy${i}` })),
      })),
    );
    fc.assert(fc.property(copiesArb, decidedAsAlone), { numRuns: 300 });
  });
});

function decidedAsAlone({
  tenant,
  users,
  pools,
}: {
  tenant: TenantLicensing;
  users: PageUser[];
  pools: Page["pools"];
}) {
  const decision = decidePage(fakeCtx.now.toISOString(), tenant, { users, pools });
  const available = new Map([...pools].map(([s, p]) => [s, p.enabled - p.consumed]));
  for (const [i, user] of users.entries()) {
    const intents = decision.outcomes[i]!.result.sources;
    const expected = reconcileUser({
      usageLocation: user.usageLocation,
      tenantCountry: tenant.country,
      intents: [
        ...user.sources
          .filter((s) => s.sourceId === DIRECT)
          .map((s) => ({
            skuId: s.skuId,
            sourceId: DIRECT,
            disabledPlans: s.disabledPlans,
            previous: {
              state: s.state,
              error: s.error,
              disabledPlans: s.disabledPlans,
              lastUpdatedAt: s.lastUpdatedAt,
            },
          })),
        ...user.grants.map((g) => {
          const row = user.sources.find((s) => s.sourceId === g.groupId && s.skuId === g.skuId);
          return {
            skuId: g.skuId,
            sourceId: g.groupId,
            disabledPlans: g.disabledPlans,
            ...(row
              ? {
                  previous: {
                    state: row.state,
                    error: row.error,
                    disabledPlans: row.disabledPlans,
                    lastUpdatedAt: row.lastUpdatedAt,
                  },
                }
              : {}),
          };
        }),
      ],
      held: user.held,
      seatsAvailable: new Map(available),
      skuPlans: tenant.skuPlans,
      rules: tenant.rules,
      now: NOW,
    });
    expect(intents).toEqual(expected.sources);
    expect(decision.outcomes[i]!.result).toEqual(expected);
    for (const s of expected.seatsTaken) available.set(s, (available.get(s) ?? 0) - 1);
    for (const s of expected.seatsFreed) available.set(s, (available.get(s) ?? 0) + 1);
  }
}
