import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, assign, buy, newTenant, newUser, PLAN, SKU, type TestTenant } from "../helpers/api.ts";

// Random operation sequences over a fresh tenant, checking seatflow's licensing invariants after every step against
// both the API and D1. Only direct assignment is exercised here (no groups), so every held license has exactly one
// (direct) source and the expected state can be tracked by a simple model of successful calls.

type Op =
  | { kind: "assign"; user: number; sku: number; disabled: number[] }
  | { kind: "assignTwo"; user: number; sku: number; other: number }
  | { kind: "remove"; user: number; sku: number; fromHeld: boolean }
  | { kind: "swap"; user: number; sku: number; other: number; disabled: number[]; fromHeld: boolean }
  | { kind: "seats"; sku: number; seats: number }
  | { kind: "delete"; user: number };

type Scenario = {
  extraSku: boolean;
  seats: number[];
  users: ("US" | null)[];
  ops: Op[];
};

const idx = fc.nat({ max: 11 });
const disabled = fc.array(fc.nat({ max: 11 }), { maxLength: 3 });
// Mostly pick the SKU to remove among those the user holds, so removals and swaps often succeed.
const fromHeld = fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("assign" as const), user: idx, sku: idx, disabled }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("assignTwo" as const), user: idx, sku: idx, other: idx }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), user: idx, sku: idx, fromHeld }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("swap" as const), user: idx, sku: idx, other: idx, disabled, fromHeld }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("seats" as const), sku: idx, seats: fc.integer({ min: 0, max: 3 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), user: idx }) },
);
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  extraSku: fc.boolean(),
  seats: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
  users: fc.array(
    fc.oneof({ weight: 5, arbitrary: fc.constant("US" as const) }, { weight: 1, arbitrary: fc.constant(null) }),
    {
      minLength: 4,
      maxLength: 6,
    },
  ),
  ops: fc.array(opArb, { minLength: 4, maxLength: 16 }),
});

const NO_SEAT = (skuId: string) => `Subscription with SKU ${skuId} does not have any available licenses.`;

/** Every service plan of each SKU in play, read once from a scratch tenant's subscribedSkus. */
const planCandidates = new Map<string, string[]>();
const EXCHANGE = new Set<string>([PLAN.EXCHANGE_S_STANDARD, PLAN.EXCHANGE_S_ENTERPRISE]);

beforeAll(async () => {
  const t = await newTenant();
  for (const sku of [SKU.E3, SKU.EMS, SKU.SPB, SKU.EXCHANGE_P1]) await buy(t.admin, sku, 1);
  const res = await t.admin.get("/v1.0/subscribedSkus");
  for (const s of res.body.value as { skuId: string; servicePlans: { servicePlanId: string }[] }[]) {
    const plans = s.servicePlans.map((p) => p.servicePlanId);
    expect(plans.length).toBeGreaterThan(0);
    // Exchange plans first so random "disabled" picks often resolve (or cause) the Exchange Plan 1/2 exclusion.
    planCandidates.set(s.skuId, [
      ...plans.filter((p) => EXCHANGE.has(p)),
      ...plans.filter((p) => !EXCHANGE.has(p)).slice(0, 4),
    ]);
  }
  expect(planCandidates.size).toBe(4);
});

/** All of a tenant's licensing rows, in a stable order: a refused request must leave this byte-for-byte equal. */
async function snapshot(tenantId: string): Promise<string> {
  const [licenses, sources, pools, users, audit] = await env.DB.batch<Record<string, unknown>>([
    env.DB.prepare("SELECT * FROM user_licenses_by_id WHERE tenant_id = ?1 ORDER BY user_id, sku_id").bind(tenantId),
    env.DB.prepare("SELECT * FROM license_sources_by_id WHERE tenant_id = ?1 ORDER BY user_id, sku_id, source_id").bind(
      tenantId,
    ),
    env.DB.prepare("SELECT * FROM seat_pools WHERE tenant_id = ?1 ORDER BY sku_id").bind(tenantId),
    env.DB.prepare(
      "SELECT id, deleted_at, license_version, usage_location FROM users WHERE tenant_id = ?1 ORDER BY id",
    ).bind(tenantId),
    env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE tenant_id = ?1").bind(tenantId),
  ]);
  return JSON.stringify([licenses!.results, sources!.results, pools!.results, users!.results, audit!.results]);
}

async function pools(tenantId: string): Promise<Map<string, { enabled: number; consumed: number }>> {
  const { results } = await env.DB.prepare(
    "SELECT sku_id AS skuId, enabled_units AS enabled, consumed_units AS consumed FROM seat_pools WHERE tenant_id = ?1",
  )
    .bind(tenantId)
    .all<{ skuId: string; enabled: number; consumed: number }>();
  return new Map(results.map((r) => [r.skuId, { enabled: r.enabled, consumed: r.consumed }]));
}

/** Model: live user id → (skuId → sorted disabled plans). */
type Model = Map<string, Map<string, string[]>>;

const sortedUnique = (xs: string[]) => [...new Set(xs)].sort();

async function checkInvariants(t: TestTenant, skus: string[], model: Model, step: string) {
  // 1. consumedUnits (API) == seat counter (D1) == distinct live users holding the SKU (D1).
  const api = await t.admin.get("/v1.0/subscribedSkus");
  expect(api.status, step).toBe(200);
  const counters = await pools(t.id);
  for (const skuId of skus) {
    const holders = await env.DB.prepare(
      `SELECT count(DISTINCT ul.user_id) AS n FROM user_licenses_by_id ul
       JOIN users u ON u.tenant_id = ul.tenant_id AND u.id = ul.user_id
       WHERE ul.tenant_id = ?1 AND ul.sku_id = ?2 AND u.deleted_at IS NULL`,
    )
      .bind(t.id, skuId)
      .first<{ n: number }>();
    const published = api.body.value.find((s: { skuId: string }) => s.skuId === skuId);
    expect({ step, skuId, consumed: published.consumedUnits }).toEqual({ step, skuId, consumed: holders?.n });
    expect({ step, skuId, counter: counters.get(skuId)?.consumed }).toEqual({ step, skuId, counter: holders?.n });
    expect(counters.get(skuId)?.enabled, step).toBe(published.prepaidUnits.enabled);
  }

  // 2. Deleted users hold nothing; every seat row has its direct source and vice versa (effective plans = source's).
  const { results: rows } = await env.DB.prepare(
    `SELECT ul.user_id AS userId, ul.sku_id AS skuId, ul.disabled_plans AS effective, u.deleted_at AS deletedAt,
       (SELECT json_group_array(json_object('sourceId', ls.source_id, 'state', ls.state, 'error', ls.error,
          'disabledPlans', json(ls.disabled_plans))) FROM license_sources_by_id ls
        WHERE ls.tenant_id = ul.tenant_id AND ls.user_id = ul.user_id AND ls.sku_id = ul.sku_id) AS sources
     FROM user_licenses_by_id ul JOIN users u ON u.tenant_id = ul.tenant_id AND u.id = ul.user_id WHERE ul.tenant_id = ?1`,
  )
    .bind(t.id)
    .all<{ userId: string; skuId: string; effective: string; deletedAt: string | null; sources: string }>();
  const orphanSources = await env.DB.prepare(
    `SELECT count(*) AS n FROM license_sources_by_id ls WHERE ls.tenant_id = ?1 AND NOT EXISTS (
       SELECT 1 FROM user_licenses_by_id ul WHERE ul.tenant_id = ls.tenant_id AND ul.user_id = ls.user_id AND ul.sku_id = ls.sku_id)`,
  )
    .bind(t.id)
    .first<{ n: number }>();
  expect(orphanSources?.n, `${step}: sources without a seat row`).toBe(0);

  // 3. The stored state is exactly what the successful calls asked for.
  const actual: Record<string, Record<string, string[]>> = {};
  for (const r of rows) {
    expect(r.deletedAt, `${step}: deleted user still holds ${r.skuId}`).toBeNull();
    const effective = sortedUnique(JSON.parse(r.effective) as string[]);
    const sources = (JSON.parse(r.sources) as { disabledPlans: string[] }[]).map((src) => ({
      ...src,
      disabledPlans: sortedUnique(src.disabledPlans),
    }));
    // One direct, healthy source; the seat row's effective disabled plans are that source's (rule 4, one source).
    expect(sources, step).toEqual([{ sourceId: "direct", state: "Active", error: "None", disabledPlans: effective }]);
    actual[r.userId] = { ...actual[r.userId], [r.skuId]: effective };
  }
  const expected: Record<string, Record<string, string[]>> = {};
  for (const [userId, held] of model) {
    if (held.size === 0) continue;
    expected[userId] = Object.fromEntries(held);
  }
  expect(actual, step).toEqual(expected);
}

async function runScenario(scenario: Scenario): Promise<number[]> {
  const t = await newTenant();
  const skus: string[] = [SKU.E3, SKU.EMS, SKU.SPB, ...(scenario.extraSku ? [SKU.EXCHANGE_P1] : [])];
  const subscriptions = new Map<string, string>();
  for (const [i, skuId] of skus.entries()) {
    subscriptions.set(skuId, (await buy(t.admin, skuId, scenario.seats[i]!)).id);
  }
  const users: string[] = [];
  for (const location of scenario.users) users.push(await newUser(t.admin, { usageLocation: location }));
  const model: Model = new Map(users.map((u) => [u, new Map()]));
  const deleted = new Set<string>();
  await checkInvariants(t, skus, model, "setup");
  const statuses: number[] = [];

  const sku = (i: number) => skus[i % skus.length]!;
  const user = (i: number) => users[i % users.length]!;
  /** The user to remove from: with fromHeld, one that holds something (if anyone does). */
  const holder = (i: number, fromHeldOnly: boolean) => {
    const holders = users.filter((u) => (model.get(u)?.size ?? 0) > 0);
    return fromHeldOnly && holders.length > 0 ? holders[i % holders.length]! : user(i);
  };
  /** The SKU to remove: one the user holds (when asked and there is one), else any SKU in play. */
  const removable = (u: string, i: number, fromHeldOnly: boolean) => {
    const held = [...(model.get(u)?.keys() ?? [])].sort();
    return fromHeldOnly && held.length > 0 ? held[i % held.length]! : sku(i);
  };
  const plansFor = (skuId: string, picks: number[]) => {
    const candidates = planCandidates.get(skuId)!;
    return picks.map((p) => candidates[p % candidates.length]!);
  };

  for (const [n, op] of scenario.ops.entries()) {
    const before = await snapshot(t.id);
    const poolsBefore = await pools(t.id);
    const step = `step ${n} ${JSON.stringify(op)}`;
    let res: ApiResponse;
    // SKUs the call would newly take a seat for, if it succeeds: [userId, skuId].
    const wants: [string, string][] = [];
    const apply: (() => void)[] = [];

    switch (op.kind) {
      case "assign": {
        const [u, s] = [user(op.user), sku(op.sku)];
        const plans = plansFor(s, op.disabled);
        res = await assign(t.admin, u, [{ skuId: s, disabledPlans: plans }]);
        wants.push([u, s]);
        apply.push(() => model.get(u)!.set(s, sortedUnique(plans)));
        break;
      }
      case "assignTwo": {
        const [u, a, b] = [user(op.user), sku(op.sku), sku(op.other)];
        res = await assign(t.admin, u, a === b ? [{ skuId: a }] : [{ skuId: a }, { skuId: b }]);
        for (const s of new Set([a, b])) {
          wants.push([u, s]);
          apply.push(() => model.get(u)!.set(s, []));
        }
        break;
      }
      case "remove": {
        const u = holder(op.user, op.fromHeld);
        const s = removable(u, op.sku, op.fromHeld);
        res = await assign(t.admin, u, [], [s]);
        apply.push(() => model.get(u)!.delete(s));
        break;
      }
      case "swap": {
        const u = holder(op.user, op.fromHeld);
        const from = removable(u, op.sku, op.fromHeld);
        // A different SKU to swap to (adding and removing the same one is refused, and covered elsewhere).
        const others = skus.filter((x) => x !== from);
        const to = others[op.other % others.length]!;
        const plans = plansFor(to, op.disabled);
        res = await assign(t.admin, u, [{ skuId: to, disabledPlans: plans }], [from]);
        wants.push([u, to]);
        apply.push(() => {
          model.get(u)!.delete(from);
          model.get(u)!.set(to, sortedUnique(plans));
        });
        break;
      }
      case "seats": {
        const s = sku(op.sku);
        res = await t.admin.patch(`/api/subscriptions/${subscriptions.get(s)}`, { totalLicenses: op.seats });
        expect(res.status, step).toBe(200);
        break;
      }
      case "delete": {
        const u = user(op.user);
        res = await t.admin.delete(`/v1.0/users/${u}`);
        apply.push(() => {
          model.delete(u);
          deleted.add(u);
        });
        break;
      }
    }

    statuses.push(res.status);
    expect(res.status, `${step}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
    if (res.status < 300) {
      // A success must have found a free seat for every SKU the user did not already hold.
      for (const [u, s] of wants) {
        if (model.get(u)?.has(s)) continue;
        const pool = poolsBefore.get(s)!;
        expect(pool.consumed, `${step}: took a seat of ${s} with none free (${JSON.stringify(pool)})`).toBeLessThan(
          pool.enabled,
        );
      }
      for (const f of apply) f();
    } else {
      expect([400, 403, 404, 409], `${step}: ${JSON.stringify(res.body)}`).toContain(res.status);
      // A refused request changes nothing: no seat, no source, no counter, no audit row.
      expect(await snapshot(t.id), `${step} was refused (${res.body?.error?.message}) but changed state`).toBe(before);
      const message: string = res.body?.error?.message ?? "";
      const noSeat = wants.find(([, s]) => message === NO_SEAT(s));
      if (noSeat) {
        // The no-seat refusal is truthful, and never given to a user who already held the SKU.
        const [u, s] = noSeat;
        const pool = poolsBefore.get(s)!;
        expect(pool.consumed, `${step}: refused for seats with ${JSON.stringify(pool)}`).toBeGreaterThanOrEqual(
          pool.enabled,
        );
        expect(model.get(u)?.has(s), `${step}: a holder was refused for seats`).toBe(false);
      }
      if (op.kind === "assign" && deleted.has(user(op.user))) {
        expect(res.status, step).toBe(404);
      }
    }
    await checkInvariants(t, skus, model, step);
  }
  return statuses;
}

describe("licensing invariants on random operation sequences (fast-check)", () => {
  it("keeps seats, sources and counters consistent, and refusals change nothing", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        await runScenario(scenario);
      }),
      { numRuns: 20, endOnFailure: true },
    );
  });

  it("holds for a sequence that exercises the Exchange exclusion, seat cuts and deletes (regression seed)", async () => {
    const statuses = await runScenario({
      extraSku: true,
      seats: [1, 2, 1, 1], // E3, EMS, SPB, Exchange Online (Plan 1)
      users: ["US", "US", null, "US"],
      ops: [
        { kind: "assign", user: 0, sku: 0, disabled: [] }, // u0 E3
        { kind: "assign", user: 0, sku: 2, disabled: [] }, // SPB's Exchange Plan 1 vs E3's Plan 2: refused
        { kind: "assign", user: 0, sku: 2, disabled: [0] }, // SPB with its Exchange Plan 1 disabled: fine
        { kind: "assign", user: 1, sku: 0, disabled: [] }, // E3 has no seat left: refused
        { kind: "assign", user: 2, sku: 1, disabled: [] }, // no usage location: refused
        { kind: "seats", sku: 0, seats: 0 }, // E3 over-allocated now: u0 keeps it
        { kind: "assign", user: 0, sku: 0, disabled: [1] }, // a holder's re-assign needs no new seat
        { kind: "swap", user: 0, sku: 0, other: 0, disabled: [], fromHeld: false }, // u0 E3 → EMS
        { kind: "assignTwo", user: 3, sku: 1, other: 3 }, // u3 EMS + Exchange Plan 1
        { kind: "delete", user: 0 },
        { kind: "remove", user: 0, sku: 1, fromHeld: false }, // the deleted user is a 404
        { kind: "assign", user: 1, sku: 1, disabled: [] }, // u0's EMS seat was freed by the delete
        { kind: "remove", user: 3, sku: 0, fromHeld: true }, // u3 drops Exchange Plan 1
      ],
    });
    expect(statuses).toEqual([200, 400, 200, 400, 400, 200, 200, 200, 200, 204, 404, 200, 200]);
  });
});
