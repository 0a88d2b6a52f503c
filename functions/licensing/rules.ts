/**
 * Pure licensing rules: given what a user should receive from each source (direct or a group), decide what each
 * source achieves, which licenses the user ends up holding, and which seats move. Used by direct assignment,
 * group processing and reprocessing alike, so every path applies the same rules (DESIGN §4).
 */

export type LicenseError =
  | "CountViolation"
  | "MutuallyExclusiveViolation"
  | "DependencyViolation"
  | "ProhibitedInUsageLocationViolation"
  | "UniquenessViolation"
  | "Other";
export type SourceState = "Active" | "ActiveWithError" | "Disabled" | "Error";
export const DIRECT = "direct";

export type PlanRule = {
  kind: "exclusive" | "requires" | "prohibited_location";
  servicePlanId: string;
  relatedServicePlanIds: string[];
  usageLocation: string | null;
};

/** What one source asks for one SKU, with what it achieved last time (if it existed). */
export type SourceIntent = {
  skuId: string;
  sourceId: string;
  disabledPlans: string[];
  previous?: { state: SourceState; error: LicenseError | "None"; disabledPlans: string[]; lastUpdatedAt: string };
};

export type HeldLicense = { disabledPlans: string[]; assignedAt: string };

export type ReconcileInput = {
  usageLocation: string | null;
  tenantCountry: string;
  intents: SourceIntent[];
  /** What the user holds now (user_licenses): a SKU held already needs no new seat. */
  held: ReadonlyMap<string, HeldLicense>;
  /** Seats that may still be given per SKU (enabled company units − consumed); may be ≤ 0 when over-allocated. */
  seatsAvailable: ReadonlyMap<string, number>;
  /** Service plan ids of each SKU, in catalogue order. */
  skuPlans: ReadonlyMap<string, readonly string[]>;
  rules: readonly PlanRule[];
  now: string;
};

export type Violation = { error: LicenseError; message: string };
/** A violation inside a unit, with the SKU that caused it (the rest of an all-or-nothing group get `Other`). */
type UnitViolation = Violation & { skuId: string };

export type SourceOutcome = {
  skuId: string;
  sourceId: string;
  disabledPlans: string[];
  state: SourceState;
  error: LicenseError | "None";
  lastUpdatedAt: string;
  violation?: Violation;
};

export type ReconcileResult = {
  sources: SourceOutcome[];
  licenses: Map<string, HeldLicense>;
  seatsTaken: string[];
  seatsFreed: string[];
};

export const messages = {
  invalidUsageLocation: "License assignment cannot be done for user with invalid usage location.",
  noSeats: (skuId: string) => `Subscription with SKU ${skuId} does not have any available licenses.`,
  exclusive: (a: string, b: string) =>
    `License assignment failed because service plans ${a},${b} are mutually exclusive.`,
  dependency: (plan: string, required: readonly string[]) =>
    `License assignment failed because service plan ${plan} depends on the service plan(s) ${required.join(",")}`,
  prohibited: (plan: string, location: string) =>
    `License assignment failed because service plan ${plan} is not allowed in usage location ${location}.`,
  other: "License assignment failed because another license assigned by the same group failed.",
};

/** A unit is applied all or nothing: every SKU of one group, or one directly assigned SKU. */
type Unit = { sourceId: string; intents: SourceIntent[]; stable: boolean; plans?: readonly string[] };

const enabledPlans = (intent: SourceIntent, skuPlans: ReadonlyMap<string, readonly string[]>): readonly string[] => {
  const plans = skuPlans.get(intent.skuId) ?? [];
  if (intent.disabledPlans.length === 0) return plans;
  const disabled = new Set(intent.disabledPlans);
  return plans.filter((p) => !disabled.has(p));
};

/**
 * The plans each kind of rule names, so the checks skip at once a unit whose plans no rule mentions (most units: a
 * group job decides a thousand users against the same rule list, hence the cache on the list itself).
 */
const rulePlanSets = new WeakMap<readonly PlanRule[], Record<PlanRule["kind"], Set<string>>>();
function plansNamedBy(rules: readonly PlanRule[]): Record<PlanRule["kind"], Set<string>> {
  let sets = rulePlanSets.get(rules);
  if (!sets) {
    sets = { exclusive: new Set(), requires: new Set(), prohibited_location: new Set() };
    for (const rule of rules) {
      sets[rule.kind].add(rule.servicePlanId);
      if (rule.kind === "exclusive") for (const plan of rule.relatedServicePlanIds) sets.exclusive.add(plan);
    }
    rulePlanSets.set(rules, sets);
  }
  return sets;
}

// Each check asks for a unit's plans; computed once per unit (the input does not change during a reconcile).
const unitPlans = (unit: Unit, input: ReconcileInput) =>
  (unit.plans ??=
    unit.intents.length === 1
      ? enabledPlans(unit.intents[0]!, input.skuPlans)
      : unit.intents.flatMap((i) => enabledPlans(i, input.skuPlans)));
// Rules name a handful of plans: looking each up in a unit's few dozen beats building sets per unit.
const unitHas = (unit: Unit, input: ReconcileInput, plan: string) => unitPlans(unit, input).includes(plan);
const anyNamed = (plans: Iterable<string>, named: Set<string>) => {
  for (const plan of plans) if (named.has(plan)) return true;
  return false;
};

const sameList = (a: readonly string[], b: readonly string[]) => {
  if (a.length !== b.length) return false;
  const sortedB = [...b].sort();
  return [...a].sort().every((v, i) => v === sortedB[i]);
};

function buildUnits(intents: SourceIntent[]): Unit[] {
  const bySource = new Map<string, SourceIntent[]>();
  const units: Unit[] = [];
  for (const intent of intents) {
    if (intent.sourceId === DIRECT) {
      units.push({ sourceId: DIRECT, intents: [intent], stable: false });
      continue;
    }
    const list = bySource.get(intent.sourceId) ?? [];
    list.push(intent);
    bySource.set(intent.sourceId, list);
  }
  for (const [sourceId, list] of bySource) units.push({ sourceId, intents: list, stable: false });
  for (const unit of units) {
    unit.stable = unit.intents.every(
      (i) => i.previous?.state === "Active" && sameList(i.previous.disabledPlans, i.disabledPlans),
    );
  }
  // Whatever the user already enjoys keeps priority over new intents, so a new assignment can never evict an
  // existing one; then direct before groups; ties broken by id for determinism.
  const rank = (u: Unit) => (u.stable ? 0 : 2) + (u.sourceId === DIRECT ? 0 : 1);
  return units.sort(
    (a, b) =>
      rank(a) - rank(b) ||
      a.sourceId.localeCompare(b.sourceId) ||
      (a.intents[0]?.skuId ?? "").localeCompare(b.intents[0]?.skuId ?? ""),
  );
}

function checkLocation(unit: Unit, input: ReconcileInput): UnitViolation | undefined {
  // Group licensing falls back to the directory's country; direct assignment never does (spec §2.10).
  const location = input.usageLocation ?? (unit.sourceId === DIRECT ? null : input.tenantCountry);
  if (!location) {
    return {
      error: "ProhibitedInUsageLocationViolation",
      message: messages.invalidUsageLocation,
      skuId: unit.intents[0]!.skuId,
    };
  }
  if (!anyNamed(unitPlans(unit, input), plansNamedBy(input.rules).prohibited_location)) return undefined;
  for (const intent of unit.intents) {
    for (const plan of enabledPlans(intent, input.skuPlans)) {
      const rule = input.rules.find(
        (r) =>
          r.kind === "prohibited_location" &&
          r.servicePlanId === plan &&
          r.usageLocation?.toUpperCase() === location.toUpperCase(),
      );
      if (rule) {
        return {
          error: "ProhibitedInUsageLocationViolation",
          message: messages.prohibited(plan, location),
          skuId: intent.skuId,
        };
      }
    }
  }
  return undefined;
}

function checkExclusive(unit: Unit, accepted: Unit[], input: ReconcileInput): UnitViolation | undefined {
  if (!anyNamed(unitPlans(unit, input), plansNamedBy(input.rules).exclusive)) return undefined;
  const mine = (plan: string) => unitHas(unit, input, plan);
  const held = (plan: string) => mine(plan) || accepted.some((u) => unitHas(u, input, plan));
  for (const rule of input.rules) {
    if (rule.kind !== "exclusive" || !held(rule.servicePlanId)) continue;
    for (const other of rule.relatedServicePlanIds) {
      if (held(other) && (mine(rule.servicePlanId) || mine(other))) {
        const plan = mine(rule.servicePlanId) ? rule.servicePlanId : other;
        const skuId = unit.intents.find((i) => enabledPlans(i, input.skuPlans).includes(plan))!.skuId;
        return { error: "MutuallyExclusiveViolation", message: messages.exclusive(rule.servicePlanId, other), skuId };
      }
    }
  }
  return undefined;
}

function checkDependency(unit: Unit, accepted: Unit[], input: ReconcileInput): UnitViolation | undefined {
  const mine = unitPlans(unit, input);
  if (!anyNamed(mine, plansNamedBy(input.rules).requires)) return undefined;
  // A group must carry an add-on's prerequisite itself (spec §2.7); a direct SKU may lean on anything the user holds.
  const scope = unit.sourceId === DIRECT ? accepted : [unit];
  const inScope = (plan: string) => scope.some((u) => unitHas(u, input, plan));
  for (const plan of mine) {
    for (const rule of input.rules) {
      if (rule.kind !== "requires" || rule.servicePlanId !== plan) continue;
      if (!rule.relatedServicePlanIds.some(inScope)) {
        const skuId = unit.intents.find((i) => enabledPlans(i, input.skuPlans).includes(plan))!.skuId;
        return { error: "DependencyViolation", message: messages.dependency(plan, rule.relatedServicePlanIds), skuId };
      }
    }
  }
  return undefined;
}

/** Extra passes at most: the outcome settles within one or two; the bound only guarantees an end. */
const MAX_EXTRA_PASSES = 3;

export function reconcileUser(input: ReconcileInput): ReconcileResult {
  let result = decide(input);
  // Who is refused depends on the order units are judged in, and the order on what the user holds: once the accepted
  // units hold their licenses they are judged first, which can let in a unit refused only because of the order.
  // Deciding again on the outcome until nothing moves stores a state a reprocess leaves alone. Nothing refused,
  // nothing to settle: a job's healthy members cost one pass.
  for (let pass = 0; pass < MAX_EXTRA_PASSES && result.sources.some((s) => s.state === "Error"); pass++) {
    const next = decide(decided(input, result));
    if (sameOutcome(next, result)) break;
    result = relativeTo(input, next);
  }
  return result;
}

const sourceKey = (s: { sourceId: string; skuId: string }) => `${s.sourceId}|${s.skuId}`;

/** The input as it will be once `result` is stored: its licenses held, its seats taken, its outcomes previous. */
function decided(input: ReconcileInput, result: ReconcileResult): ReconcileInput {
  const seats = new Map(input.seatsAvailable);
  for (const sku of result.seatsTaken) seats.set(sku, (seats.get(sku) ?? 0) - 1);
  for (const sku of result.seatsFreed) seats.set(sku, (seats.get(sku) ?? 0) + 1);
  const outcomes = new Map(result.sources.map((s) => [sourceKey(s), s]));
  return {
    ...input,
    held: result.licenses,
    seatsAvailable: seats,
    intents: input.intents.map((intent) => {
      const o = outcomes.get(sourceKey(intent))!;
      const previous = {
        state: o.state,
        error: o.error,
        disabledPlans: o.disabledPlans,
        lastUpdatedAt: o.lastUpdatedAt,
      };
      return { ...intent, previous };
    }),
  };
}

function sameOutcome(a: ReconcileResult, b: ReconcileResult): boolean {
  if (a.licenses.size !== b.licenses.size) return false;
  for (const [sku, l] of a.licenses) {
    const other = b.licenses.get(sku);
    if (!other || !sameList(l.disabledPlans, other.disabledPlans)) return false;
  }
  const states = new Map(b.sources.map((s) => [sourceKey(s), `${s.state}|${s.error}`]));
  return a.sources.every((s) => states.get(sourceKey(s)) === `${s.state}|${s.error}`);
}

/** A later pass's result restated against the original input: its seat moves, timestamps and assignment dates. */
function relativeTo(input: ReconcileInput, result: ReconcileResult): ReconcileResult {
  const previous = new Map(input.intents.map((i) => [sourceKey(i), i.previous]));
  const licenses = new Map(
    [...result.licenses].map(([sku, l]) => [
      sku,
      { disabledPlans: l.disabledPlans, assignedAt: input.held.get(sku)?.assignedAt ?? input.now },
    ]),
  );
  return {
    sources: result.sources.map((s) => {
      const before = previous.get(sourceKey(s));
      const unchanged =
        before?.state === s.state && before.error === s.error && sameList(before.disabledPlans, s.disabledPlans);
      return { ...s, lastUpdatedAt: unchanged ? before.lastUpdatedAt : input.now };
    }),
    licenses,
    seatsTaken: [...licenses.keys()].filter((sku) => !input.held.has(sku)).sort(),
    seatsFreed: [...input.held.keys()].filter((sku) => !licenses.has(sku)).sort(),
  };
}

/** One pass over the user's units in priority order. */
function decide(input: ReconcileInput): ReconcileResult {
  const units = buildUnits(input.intents);
  // Units refused for reasons of their own (a missing prerequisite, no seat) stay refused; every other unit is
  // judged again without them, so nobody is refused because of a unit the user will not get after all.
  const dropped = new Map<Unit, UnitViolation>();
  for (;;) {
    const failures = new Map<Unit, UnitViolation>(dropped);
    const accepted: Unit[] = [];
    for (const unit of units) {
      if (dropped.has(unit)) continue;
      const violation = checkLocation(unit, input) ?? checkExclusive(unit, accepted, input);
      if (violation) failures.set(unit, violation);
      else accepted.push(unit);
    }
    // Dependencies are judged on the final set (a prerequisite may arrive later in the order); seats come last.
    const broken = accepted.find((u) => checkDependency(u, accepted, input));
    if (broken) {
      dropped.set(broken, checkDependency(broken, accepted, input)!);
      continue;
    }
    const short = firstShortOfSeats(accepted, input);
    if (short) {
      dropped.set(short.unit, { error: "CountViolation", message: messages.noSeats(short.skuId), skuId: short.skuId });
      continue;
    }
    return summarize(input, units, accepted, failures);
  }
}

/** The first unit (in priority order) that needs a seat none is left for, and which SKU it lacks. */
function firstShortOfSeats(accepted: Unit[], input: ReconcileInput): { unit: Unit; skuId: string } | undefined {
  const given = new Map<string, number>();
  const granted = new Set<string>();
  for (const unit of accepted) {
    const needs = [...new Set(unit.intents.map((i) => i.skuId))].filter(
      (sku) => !input.held.has(sku) && !granted.has(sku),
    );
    const lacking = needs.filter((sku) => (input.seatsAvailable.get(sku) ?? 0) - (given.get(sku) ?? 0) < 1);
    if (lacking.length > 0) {
      // Keep blaming the SKU the unit already waits for, so seats added for it heal the member (rule 9).
      const waitingFor = lacking.find((sku) =>
        unit.intents.some((i) => i.skuId === sku && i.previous?.error === "CountViolation"),
      );
      return { unit, skuId: waitingFor ?? lacking[0]! };
    }
    for (const sku of needs) {
      given.set(sku, (given.get(sku) ?? 0) + 1);
      granted.add(sku);
    }
    for (const intent of unit.intents) granted.add(intent.skuId);
  }
  return undefined;
}

function summarize(
  input: ReconcileInput,
  units: Unit[],
  accepted: Unit[],
  failures: Map<Unit, UnitViolation>,
): ReconcileResult {
  const sources: SourceOutcome[] = [];
  for (const unit of units) {
    const violation = failures.get(unit);
    // In an all-or-nothing group, the SKU that broke the rule carries its error; the others are `Other`.
    const culprit = violation?.skuId;
    for (const intent of unit.intents) {
      const failed = violation !== undefined;
      const error: LicenseError | "None" = !failed ? "None" : intent.skuId === culprit ? violation.error : "Other";
      const state: SourceState = failed ? "Error" : "Active";
      const unchanged =
        intent.previous &&
        intent.previous.state === state &&
        intent.previous.error === error &&
        sameList(intent.previous.disabledPlans, intent.disabledPlans);
      sources.push({
        skuId: intent.skuId,
        sourceId: intent.sourceId,
        disabledPlans: intent.disabledPlans,
        state,
        error,
        lastUpdatedAt: unchanged ? intent.previous!.lastUpdatedAt : input.now,
        ...(violation
          ? {
              violation:
                error === "Other"
                  ? { error: "Other" as const, message: messages.other }
                  : { error: violation.error, message: violation.message },
            }
          : {}),
      });
    }
  }

  const licenses = new Map<string, HeldLicense>();
  for (const unit of accepted) {
    for (const intent of unit.intents) {
      const plans = input.skuPlans.get(intent.skuId) ?? [];
      const existing = licenses.get(intent.skuId);
      // A plan stays disabled only if every source disables it: effective plans are the union (rule 4).
      const disabled = existing
        ? existing.disabledPlans.filter((p) => intent.disabledPlans.includes(p))
        : plans.filter((p) => intent.disabledPlans.includes(p));
      licenses.set(intent.skuId, {
        disabledPlans: disabled,
        assignedAt: input.held.get(intent.skuId)?.assignedAt ?? input.now,
      });
    }
  }
  return {
    sources,
    licenses,
    seatsTaken: [...licenses.keys()].filter((sku) => !input.held.has(sku)).sort(),
    seatsFreed: [...input.held.keys()].filter((sku) => !licenses.has(sku)).sort(),
  };
}

/**
 * Whether a result leaves the user exactly as stored (same sources in the same states, same licenses, no seat moved).
 * Such a change writes nothing, so identical no-op calls racing on one user cannot conflict with each other.
 */
export function changesNothing(
  before: {
    sources: readonly Omit<SourceOutcome, "violation">[];
    held: ReadonlyMap<string, Pick<HeldLicense, "disabledPlans">>;
  },
  result: ReconcileResult,
): boolean {
  if (result.seatsTaken.length > 0 || result.seatsFreed.length > 0) return false;
  if (result.sources.length !== before.sources.length || result.licenses.size !== before.held.size) return false;
  const stored = new Map(before.sources.map((s) => [`${s.skuId}|${s.sourceId}`, s]));
  for (const s of result.sources) {
    const was = stored.get(`${s.skuId}|${s.sourceId}`);
    if (!was || was.state !== s.state || was.error !== s.error || was.lastUpdatedAt !== s.lastUpdatedAt) return false;
    if (!sameList(was.disabledPlans, s.disabledPlans)) return false;
  }
  for (const [skuId, license] of result.licenses) {
    const was = before.held.get(skuId);
    if (!was || !sameList(was.disabledPlans, license.disabledPlans)) return false;
  }
  return true;
}
