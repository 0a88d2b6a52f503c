import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Ctx, makeCtx } from "../../functions/core/context.ts";
import { DomainError } from "../../functions/core/errors.ts";
import { QueryBudget, runJob } from "../../functions/jobs/runner.ts";
import { assignUserLicenses } from "../../functions/licensing/actions.ts";
import { deleteUser, restoreUser } from "../../functions/lifecycle/actions.ts";
import { jobKinds } from "../../functions/queue.ts";
import {
  addMailboxItems,
  applyRetentionLabel,
  createRetentionLabel,
  listMailboxItems,
  setLitigationHold,
} from "../../functions/retention/actions.ts";
import { previewLicensingChange } from "../../functions/retention/impact-actions.ts";
import { startPurge } from "../../functions/retention/purge-actions.ts";
import { DAY_MS } from "../../functions/retention/rules.ts";
import { buy, newTenant, newUser, PLAN, SKU } from "../helpers/api.ts";

// Random timelines of license changes, holds, mail, labels, deletions, restores and purges, on the real Worker's D1
// with an injected clock. After every step: no held item was deleted, no mailbox was purged before its purgeAfter,
// nothing but a purge deleted mail, and every licensing change did what its preview said it would.

const USERS = 3;
const dropping = { send: async () => {}, sendBatch: async () => {} } as unknown as Queue;

type Op =
  | { kind: "assign"; user: number; sku: "E3" | "P2"; exchangeOff: boolean }
  | { kind: "remove"; user: number }
  | { kind: "hold"; user: number; on: boolean }
  | { kind: "mail"; user: number; n: number; label: number | null }
  | { kind: "label"; user: number; label: number | null }
  | { kind: "delete"; user: number }
  | { kind: "restore"; user: number }
  | { kind: "purge" }
  | { kind: "wait"; days: number };

const user = fc.integer({ min: 0, max: USERS - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("assign" as const),
      user,
      sku: fc.constantFrom("E3" as const, "P2" as const),
      exchangeOff: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("remove" as const), user }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("hold" as const),
      user,
      on: fc.integer({ min: 0, max: 3 }).map((n) => n > 0),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("mail" as const),
      user,
      n: fc.integer({ min: 1, max: 3 }),
      label: fc.option(fc.integer({ min: 0, max: 1 }), { nil: null }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("label" as const),
      user,
      label: fc.option(fc.integer({ min: 0, max: 1 }), { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), user }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restore" as const), user }) },
  { weight: 3, arbitrary: fc.constant({ kind: "purge" as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("wait" as const), days: fc.integer({ min: 1, max: 40 }) }) },
);

type Item = {
  mailbox: number;
  item: number;
  state: string;
  hold: number;
  purgeAfter: string | null;
  until: string | null;
};

async function allItems(tenantId: string): Promise<Item[]> {
  const { results } = await env.DB.prepare(
    `SELECT m.seq AS mailbox, i.item_seq AS item, m.state, m.litigation_hold AS hold, m.purge_after AS purgeAfter,
       i.retained_until AS until FROM mailboxes m JOIN mailbox_items i ON i.mailbox_seq = m.seq
     WHERE m.tenant_id = ?1 ORDER BY m.seq, i.item_seq`,
  )
    .bind(tenantId)
    .all<Item>();
  return results;
}

async function mailboxStates(tenantId: string) {
  const { results } = await env.DB.prepare(
    "SELECT seq, user_seq AS userSeq, state, purge_after AS purgeAfter FROM mailboxes WHERE tenant_id = ?1 ORDER BY seq",
  )
    .bind(tenantId)
    .all<{ seq: number; userSeq: number; state: string; purgeAfter: string | null }>();
  return results;
}

const key = (i: Pick<Item, "mailbox" | "item">) => `${i.mailbox}.${i.item}`;

/** Whether the purge at `asOf` may delete this item: its mailbox past its window, not held, and no label keeping it. */
const deletableAt = (i: Item, asOf: string) =>
  i.state === "Disconnected" &&
  i.hold === 0 &&
  i.purgeAfter !== null &&
  i.purgeAfter <= asOf &&
  (i.until === null || i.until <= asOf);

async function latestOf(tenantId: string, userId: string) {
  return env.DB.prepare(
    `SELECT m.state, m.item_count AS items FROM mailboxes m WHERE m.seq = (SELECT max(seq) FROM mailboxes
       WHERE user_seq = (SELECT seq FROM users WHERE tenant_id = ?1 AND id = ?2))`,
  )
    .bind(tenantId, userId)
    .first<{ state: string; items: number }>();
}

async function heldSkus(tenantId: string, userId: string) {
  const { results } = await env.DB.prepare(
    "SELECT sku_id AS skuId FROM user_licenses_by_id WHERE tenant_id = ?1 AND user_id = ?2 ORDER BY sku_id",
  )
    .bind(tenantId, userId)
    .all<{ skuId: string }>();
  return results.map((r) => r.skuId);
}

async function consumed(tenantId: string) {
  const { results } = await env.DB.prepare(
    "SELECT sku_id AS skuId, consumed_units AS n FROM seat_pools WHERE tenant_id = ?1",
  )
    .bind(tenantId)
    .all<{ skuId: string; n: number }>();
  return new Map(results.map((r) => [r.skuId, r.n]));
}

const refusal = async (run: () => Promise<unknown>) => {
  try {
    await run();
    return null;
  } catch (error) {
    if (error instanceof DomainError) return error.message;
    throw error;
  }
};

describe("retention over random timelines", () => {
  it("never deletes held mail, never purges early, and every change does what its preview says", async () => {
    const system = { kind: "system" as const, name: "test fixtures" };
    let round = 0;
    // Purges that deleted mail, over all timelines: the properties above mean little if none ever did.
    let purgesThatDeleted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 8, maxLength: 24 }), async (ops) => {
        round++;
        // Each timeline in a tenant of its own, with two seats of each SKU (so some changes find none).
        const t = await newTenant();
        await buy(t.admin, SKU.E3, 2);
        await buy(t.admin, SKU.EXCHANGE_P2, 2);
        const labels = [
          await createRetentionLabel({
            ctx: makeCtx(env, t.id, system),
            input: { displayName: "Ten days", retentionDays: 10 },
          }),
          await createRetentionLabel({
            ctx: makeCtx(env, t.id, system),
            input: { displayName: "A hundred", retentionDays: 100 },
          }),
        ];
        const users = await Promise.all(Array.from({ length: USERS }, () => newUser(t.admin)));
        const deleted = new Map<number, number>();
        let now = Date.now() + round * DAY_MS;
        const ctx = (): Ctx =>
          makeCtx({ ...env, LICENSE_JOBS: dropping }, t.id, system, crypto.randomUUID(), new Date(now));
        // A start worth changing: everyone licensed (two E3, one Plan 2), with mail, some of it labelled.
        for (const [i, userId] of users.entries()) {
          await assignUserLicenses({
            ctx: ctx(),
            input: {
              userRef: userId,
              addLicenses: [{ skuId: i === 2 ? SKU.EXCHANGE_P2 : SKU.E3, disabledPlans: [] }],
              removeLicenses: [],
            },
          });
          await addMailboxItems({
            ctx: ctx(),
            input: {
              userRef: userId,
              items: [
                { subject: "a", sizeBytes: 1 },
                { subject: "b", sizeBytes: 2, retentionLabelId: labels[i % 2]!.id },
              ],
            },
          });
        }
        for (const op of ops) {
          const before = await allItems(t.id);
          const id = op.kind === "purge" || op.kind === "wait" ? null : users[op.user]!;
          let asOf: string | null = null;
          switch (op.kind) {
            case "wait":
              now += op.days * DAY_MS;
              break;
            case "assign":
            case "remove": {
              if (deleted.has(op.user)) break;
              // Both SKUs carry Exchange Online (Plan 2): the mailbox plan to switch off. A removal removes all held.
              const plan = PLAN.EXCHANGE_S_ENTERPRISE;
              const request =
                op.kind === "assign"
                  ? {
                      addLicenses: [
                        {
                          skuId: op.sku === "E3" ? SKU.E3 : SKU.EXCHANGE_P2,
                          disabledPlans: op.exchangeOff ? [plan] : [],
                        },
                      ],
                      removeLicenses: [],
                    }
                  : { addLicenses: [], removeLicenses: await heldSkus(t.id, id!) };
              if (request.addLicenses.length + request.removeLicenses.length === 0) break;
              const c = ctx();
              const predicted = await previewLicensingChange({
                ctx: c,
                input: { change: "userAssignLicense", userId: id!, ...request },
              });
              const seatsBefore = await consumed(t.id);
              const skusBefore = await heldSkus(t.id, id!);
              const boxBefore = await latestOf(t.id, id!);
              const refused = await refusal(() => assignUserLicenses({ ctx: c, input: { userRef: id!, ...request } }));
              expect(refused, JSON.stringify(predicted.refusal)).toBe(predicted.refusal?.message ?? null);
              const skusAfter = await heldSkus(t.id, id!);
              const boxAfter = await latestOf(t.id, id!);
              if (refused) {
                expect(skusAfter).toEqual(skusBefore);
                break;
              }
              const told = predicted.users[0];
              const expected = [
                ...skusBefore.filter((s) => !told?.skusLost.includes(s)),
                ...(told?.skusGained ?? []),
              ].sort();
              expect(skusAfter).toEqual(expected);
              expect(boxAfter?.state ?? null).toBe(told?.mailbox?.stateAfter ?? boxBefore?.state ?? null);
              const seatsAfter = await consumed(t.id);
              for (const s of predicted.seats) expect(seatsAfter.get(s.skuId)).toBe(s.consumedAfter);
              for (const [sku, n] of seatsBefore) {
                if (!predicted.seats.some((s) => s.skuId === sku)) expect(seatsAfter.get(sku)).toBe(n);
              }
              break;
            }
            case "hold":
              await refusal(() => setLitigationHold({ ctx: ctx(), input: { userRef: id!, litigationHold: op.on } }));
              break;
            case "mail":
              await refusal(() =>
                addMailboxItems({
                  ctx: ctx(),
                  input: {
                    userRef: id!,
                    items: Array.from({ length: op.n }, (_, i) => ({
                      subject: `m${i}`,
                      sizeBytes: 10 + i,
                      retentionLabelId: op.label === null ? null : labels[op.label]!.id,
                    })),
                  },
                }),
              );
              break;
            case "label":
              await refusal(async () => {
                const items = await listMailboxItems({ ctx: ctx(), input: { userRef: id!, top: 100, after: 0 } });
                if (items.length === 0) return;
                await applyRetentionLabel({
                  ctx: ctx(),
                  input: {
                    userRef: id!,
                    labelId: op.label === null ? null : labels[op.label]!.id,
                    itemIds: items.map((i) => i.itemSeq),
                  },
                });
              });
              break;
            case "delete":
              if (deleted.has(op.user)) break;
              await deleteUser({ ctx: ctx(), input: { userRef: id! } });
              deleted.set(op.user, now);
              break;
            case "restore": {
              const at = deleted.get(op.user);
              if (at === undefined) break;
              const gone = await env.DB.prepare("SELECT hard_deleted_at AS hard FROM users WHERE id = ?1")
                .bind(id)
                .first<{ hard: string | null }>();
              const refused = await refusal(() => restoreUser({ ctx: ctx(), input: { id: id! } }));
              // Restorable strictly within 30 days of the deletion, and not once deleted permanently.
              expect(refused === null).toBe(now < at + 30 * DAY_MS && gone?.hard === null);
              if (refused === null) deleted.delete(op.user);
              break;
            }
            case "purge": {
              const c = ctx();
              asOf = c.now.toISOString();
              const run = await startPurge({ ctx: c, input: { trigger: "api", dryRun: false } });
              for (let i = 0; i < 50; i++) {
                if (
                  (await runJob(makeCtx(env, t.id, system), run.id, jobKinds, new QueryBudget(100, 3))) !== "continue"
                )
                  break;
              }
              break;
            }
          }
          const after = await allItems(t.id);
          const left = new Set(after.map(key));
          if (op.kind === "purge" && after.length < before.length) purgesThatDeleted++;
          for (const item of before) {
            if (left.has(key(item))) continue;
            // Only a purge deletes mail, and only what was deletable at its clock.
            expect({ op: op.kind, item, deletable: asOf !== null && deletableAt(item, asOf) }).toEqual({
              op: "purge",
              item,
              deletable: true,
            });
          }
          if (asOf !== null) {
            // And it deleted all of that.
            for (const item of after)
              expect({ item, deletable: deletableAt(item, asOf) }).toEqual({ item, deletable: false });
          }
          for (const m of await mailboxStates(t.id)) {
            if (m.state === "Purged") expect(m.purgeAfter !== null && Date.parse(m.purgeAfter) <= now).toBe(true);
          }
        }
      }),
      { numRuns: 30 },
    );
    expect(purgesThatDeleted).toBeGreaterThan(0);
  });
});
