import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeCtx } from "../../functions/core/context.ts";
import { membershipWrites } from "../../functions/directory/store.ts";
import { decidePage, usersThatFit } from "../../functions/licensing/page-rules.ts";
import { type PageUser, pageWrites, type TenantLicensing } from "../../functions/licensing/page-store.ts";
import { DIRECT, type HeldLicense } from "../../functions/licensing/rules.ts";
import { sourcesFingerprint } from "../../functions/licensing/store.ts";
import { instrumentedD1 } from "../helpers/fixtures.ts";

// D1 refuses a bound value over 2,000,000 bytes. usersThatFit must bound every value a page's writes bind, whatever
// the users' licensing and names: checked on the real statements, with ids and names of real sizes.

const PLANS = Array.from({ length: 40 }, () => crypto.randomUUID());
const SKUS = Array.from({ length: 6 }, (_, i) => ({
  skuId: crypto.randomUUID(),
  skuPartNumber: `SKU_PART_NUMBER_OF_SOME_LENGTH_${i}`,
  displayName: `Product ${i}`,
  servicePlans: PLANS.slice(i * 5, i * 5 + 12).map((id) => ({ id, name: id.slice(0, 8) })),
}));
const GROUPS = Array.from({ length: 4 }, () => crypto.randomUUID());
const tenant: TenantLicensing = {
  country: "US",
  rules: [],
  skus: new Map(SKUS.map((s) => [s.skuId, s])),
  skuPlans: new Map(SKUS.map((s) => [s.skuId, s.servicePlans.map((p) => p.id)])),
  delivering: new Set(SKUS.map((s) => s.skuId)),
};

const skuArb = fc.constantFrom(...SKUS);
const disabledArb = (sku: (typeof SKUS)[number]) => fc.subarray(sku.servicePlans.map((p) => p.id));
// Names with what JSON escapes and UTF-8 widens: quotes, backslashes, control characters, accents, emoji.
const nameArb = (max: number) =>
  fc.string({
    unit: fc.constantFrom("a", "Z", " ", '"', "\\", "\u0001", "é", "Ł", "語", "😀"),
    minLength: 1,
    maxLength: max,
    size: "max",
  });

/**
 * Users of one profile per page, so that one list (the audit's names, the guard's fingerprints of sources, the new
 * sources of grants, the descriptions of held licenses) carries nearly all the page's weight and gets near the limit.
 */
type Profile = "names" | "sources" | "grants" | "held" | "mixed";
const userArb = (profile: Profile): fc.Arbitrary<PageUser> => {
  const items = (kind: Profile) => (profile === kind || profile === "mixed" ? 12 : 0);
  const nameLength = profile === "names" || profile === "mixed" ? 256 : 8;
  return fc
    .record({
      seq: fc.maxSafeNat(),
      id: fc.uuid(),
      displayName: nameArb(nameLength),
      userPrincipalName: nameArb(Math.min(nameLength, 113)),
      usageLocation: fc.constantFrom("US", null),
      sources: fc.uniqueArray(
        fc.tuple(skuArb, fc.constantFrom(DIRECT, ...GROUPS)).chain(([sku, sourceId]) =>
          disabledArb(sku).map((disabledPlans) => ({
            skuId: sku.skuId,
            sourceId,
            disabledPlans,
            state: "Active" as const,
            error: "None" as const,
            lastUpdatedAt: "2026-01-01T00:00:00.000Z",
          })),
        ),
        { selector: (s) => `${s.skuId}|${s.sourceId}`, maxLength: items("sources") },
      ),
      grants: fc.uniqueArray(
        fc
          .tuple(skuArb, fc.constantFrom(...GROUPS))
          .chain(([sku, groupId]) =>
            disabledArb(sku).map((disabledPlans) => ({ groupId, skuId: sku.skuId, disabledPlans })),
          ),
        { selector: (g) => `${g.groupId}|${g.skuId}`, maxLength: items("grants") },
      ),
      held: fc.uniqueArray(
        skuArb.chain((sku) =>
          disabledArb(sku).map((disabledPlans): [string, HeldLicense] => [
            sku.skuId,
            { disabledPlans, assignedAt: "2025-06-01T00:00:00.000Z" },
          ]),
        ),
        { selector: ([skuId]) => skuId, maxLength: Math.min(items("held"), SKUS.length) },
      ),
    })
    .map((u) => ({
      ...u,
      licenseVersion: 1,
      held: new Map(u.held),
      // As stored, with the widest seqs there can be.
      sourcesFingerprint: sourcesFingerprint(
        u.sources.map((s) => [
          Number.MAX_SAFE_INTEGER,
          Number.MAX_SAFE_INTEGER,
          s.state,
          s.error,
          s.lastUpdatedAt,
          JSON.stringify(s.disabledPlans),
        ]),
      ),
    }));
};

const pageArb = fc
  .constantFrom<Profile>("names", "sources", "grants", "held", "mixed")
  .chain((profile) => fc.array(userArb(profile), { minLength: 1, maxLength: 60 }));

const pools = new Map(SKUS.map((s) => [s.skuId, { enabled: 100_000, consumed: 0 }]));

describe("usersThatFit", () => {
  it("every value a fitted page's writes bind stays within the limit (a page of one user aside)", () => {
    fc.assert(
      fc.property(pageArb, fc.integer({ min: 4_000, max: 80_000 }), (users, limit) => {
        const count = usersThatFit(users, limit);
        expect(count).toBeGreaterThanOrEqual(1);
        expect(count).toBeLessThanOrEqual(users.length);
        expect(usersThatFit(users, Number.POSITIVE_INFINITY)).toBe(users.length);
        if (count === 1) return;
        const { d1, stats } = instrumentedD1(env.DB);
        const ctx = { ...makeCtx(env, crypto.randomUUID(), { kind: "system", name: "test" }), d1 };
        const fitted = users.slice(0, count);
        pageWrites(ctx, tenant, decidePage(ctx.now.toISOString(), tenant, { users: fitted, pools }));
        membershipWrites(ctx, { seq: Number.MAX_SAFE_INTEGER, id: GROUPS[0]!, displayName: "Group" }, fitted, []);
        expect(stats.maxValueBytes).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 300 },
    );
  });
});
