/** The subscriptions verbs: buying seats, changing them, moving through the lifecycle, taking over self-service. */
import { auditStatement } from "../audit/store.ts";
import { loadSkuPlans, type SkuPlans } from "../catalog/store.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { forbidden, invalid, notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { can } from "../core/roles.ts";
import { followUp, queueJob, sendFollowUps } from "../jobs/outbox.ts";
import { findTenant, sellsItselfSeats } from "../tenancy/store.ts";
import { canMoveTo, deliversService, SKU_DELIVERY_JOB_KIND, type SubscriptionStatus } from "./rules.ts";
import {
  consumedUnits,
  deliveryMatters,
  findSkuByIdOrPartNumber,
  findSubscription,
  insertSubscriptionStatement,
  listSubscriptions as listStoredSubscriptions,
  overallocation,
  overallocationAlertStatement,
  refreshPoolStatements,
  type SubscriptionRow,
  updateSubscriptionStatement,
} from "./store.ts";
import type { SubscriptionListing } from "./views.ts";

export type CreateSubscriptionInput = {
  skuId?: string | undefined;
  skuPartNumber?: string | undefined;
  totalLicenses: number;
  isTrial?: boolean | undefined;
  ownerType?: "Company" | "User" | undefined;
  ownerId?: string | null | undefined;
  status?: SubscriptionStatus | undefined;
  nextLifecycleDateTime?: string | null | undefined;
};

/** A subscription with its SKU's catalogue entry, as the API shows it. */
export type SubscriptionWithSku = { subscription: SubscriptionRow; skuPartNumber: string; sku: SkuPlans | undefined };

async function withSku(ctx: Ctx, row: SubscriptionRow): Promise<SubscriptionWithSku> {
  const sku = (await loadSkuPlans(ctx.d1, [row.skuId])).get(row.skuId);
  return { subscription: row, skuPartNumber: sku?.skuPartNumber ?? "", sku };
}

/**
 * Seats are the operator's to sell: an API key of another tenant may buy or change them only where the operator turned
 * selfServiceSubscriptions on (the demo tenant has it). The service itself (the CLI, the seed) acts for the operator.
 */
async function requireSeatSeller(ctx: Ctx) {
  requireRole(ctx, can.manageSubscriptions);
  if (ctx.actor.kind !== "apiKey" || ctx.actor.operator) return;
  if (!(await sellsItselfSeats(ctx.d1, ctx.tenantId))) {
    throw forbidden(
      "Subscriptions of this tenant are bought and changed by the installation's operator (selfServiceSubscriptions is off).",
      "operatorSellsSeats",
    );
  }
}

export async function createSubscription({ ctx, input }: { ctx: Ctx; input: CreateSubscriptionInput }) {
  requireRole(ctx, can.manageSubscriptions);
  await requireSeatSeller(ctx);
  const sku = await findSkuByIdOrPartNumber(ctx.d1, input);
  if (!sku) {
    throw invalid(`The product '${input.skuId ?? input.skuPartNumber}' is not in the product catalogue.`);
  }
  const ownerType = input.ownerType ?? "Company";
  if (ownerType === "User" && !input.ownerId) throw invalid("ownerId is required for a subscription owned by a user.");
  const row: SubscriptionRow = {
    id: newId(),
    tenantId: ctx.tenantId,
    skuId: sku.id,
    commerceSubscriptionId: newId(),
    totalLicenses: input.totalLicenses,
    status: input.status ?? "Enabled",
    isTrial: input.isTrial ?? false,
    ownerType,
    ownerId: input.ownerId ?? null,
    createdAt: ctx.now.toISOString(),
    nextLifecycleAt: input.nextLifecycleDateTime ?? null,
  };
  const heal = healSku(ctx, sku.id);
  const delivery = await deliveryFollowUp(ctx, sku.id, row.id, false, deliversService(row.status));
  await ctx.d1.batch([
    ...(delivery?.statements ?? []),
    insertSubscriptionStatement(ctx.d1, row),
    ...refreshPoolStatements(ctx.d1, ctx.tenantId, sku.id),
    auditStatement(ctx, {
      activity: "Add subscription",
      category: "DirectoryManagement",
      operationType: "Add",
      targets: [
        {
          id: row.id,
          displayName: sku.skuPartNumber,
          type: "Other",
          modifiedProperties: [
            { displayName: "TotalLicenses", oldValue: null, newValue: String(row.totalLicenses) },
            { displayName: "Status", oldValue: null, newValue: row.status },
          ],
        },
      ],
    }),
    ...heal.statements,
  ]);
  await sendFollowUps(ctx, [heal.id, ...(delivery ? [delivery.id] : [])]);
  return withSku(ctx, row);
}

export type UpdateSubscriptionInput = {
  id: string;
  totalLicenses?: number | undefined;
  status?: SubscriptionStatus | undefined;
  nextLifecycleDateTime?: string | null | undefined;
};

export async function updateSubscription({ ctx, input }: { ctx: Ctx; input: UpdateSubscriptionInput }) {
  requireRole(ctx, can.manageSubscriptions);
  await requireSeatSeller(ctx);
  const current = await findSubscription(ctx.d1, ctx.tenantId, input.id);
  if (!current) throw notFound(input.id);
  if (input.status && !canMoveTo(current.status, input.status)) {
    throw invalid(`A subscription cannot move from status ${current.status} to ${input.status}.`);
  }
  const next: SubscriptionRow = {
    ...current,
    totalLicenses: input.totalLicenses ?? current.totalLicenses,
    status: input.status ?? current.status,
    nextLifecycleAt: input.nextLifecycleDateTime === undefined ? current.nextLifecycleAt : input.nextLifecycleDateTime,
  };
  const seatsAdded =
    next.totalLicenses > current.totalLicenses || (next.status === "Enabled" && current.status !== "Enabled");
  const heal = seatsAdded ? healSku(ctx, current.skuId) : null;
  // Existing users keep their seats when seats are cut below use (rule 3): the change is made, and reported.
  const alert = overallocationAlertStatement(ctx.d1, {
    id: newId(),
    tenantId: ctx.tenantId,
    skuId: current.skuId,
    subscriptionId: current.id,
    at: ctx.now.toISOString(),
  });
  const refresh = refreshPoolStatements(ctx.d1, ctx.tenantId, current.skuId);
  const delivery = await deliveryFollowUp(
    ctx,
    current.skuId,
    current.id,
    deliversService(current.status),
    deliversService(next.status),
  );
  const results = await ctx.d1.batch([
    updateSubscriptionStatement(ctx.d1, next),
    ...refresh,
    alert,
    ...(heal?.statements ?? []),
    auditStatement(ctx, {
      activity: "Update subscription",
      category: "DirectoryManagement",
      operationType: "Update",
      targets: [
        {
          id: current.id,
          type: "Other",
          modifiedProperties: [
            {
              displayName: "TotalLicenses",
              oldValue: String(current.totalLicenses),
              newValue: String(next.totalLicenses),
            },
            { displayName: "Status", oldValue: current.status, newValue: next.status },
          ],
        },
      ],
    }),
    ...(delivery?.statements ?? []),
  ]);
  await sendFollowUps(ctx, [...(heal ? [heal.id] : []), ...(delivery ? [delivery.id] : [])]);
  const over = results[1 + refresh.length]?.results[0] as { enabledUnits: number; consumedUnits: number } | undefined;
  return {
    ...(await withSku(ctx, next)),
    ...(over
      ? {
          warning: `The pool of this product now has ${over.consumedUnits} seats in use and ${over.enabledUnits} enabled: existing users keep their licenses, new assignments are refused until seats are added. See /api/reports/overallocation.`,
        }
      : {}),
  };
}

/**
 * When a change makes the SKU start or stop delivering its plans (its last subscription that does goes Deleted or
 * LockedOut, or one that does arrives), its holders' services follow: a job walks them through licensing's
 * consequences (a mailbox starts its countdown or reconnects). Null when delivery does not move.
 */
async function deliveryFollowUp(ctx: Ctx, skuId: string, subscriptionId: string, before: boolean, after: boolean) {
  if (before === after) return null;
  if (!(await deliveryMatters(ctx.d1, ctx.tenantId, skuId, subscriptionId))) return null;
  return queueJob(ctx, { id: newId(), kind: SKU_DELIVERY_JOB_KIND, subjectId: skuId });
}

/** Seats were added: members waiting in CountViolation for this SKU are reprocessed, oldest first (rule 9). */
const healSku = (ctx: Ctx, skuId: string) => followUp(ctx, { kind: "healSeats", skuIds: [skuId] });

/** Taking over a self-service purchase moves its seats into the admin's pool (spec §3.6). */
export async function takeOverSubscription({ ctx, input }: { ctx: Ctx; input: { id: string } }) {
  requireRole(ctx, can.manageSubscriptions);
  const current = await findSubscription(ctx.d1, ctx.tenantId, input.id);
  if (!current) throw notFound(input.id);
  if (current.ownerType !== "User") throw invalid("Only a self-service (user-owned) subscription can be taken over.");
  const next: SubscriptionRow = { ...current, ownerType: "Company", ownerId: null };
  const heal = healSku(ctx, current.skuId);
  await ctx.d1.batch([
    updateSubscriptionStatement(ctx.d1, next),
    ...refreshPoolStatements(ctx.d1, ctx.tenantId, current.skuId),
    ...heal.statements,
    auditStatement(ctx, {
      activity: "Take over self-service subscription",
      category: "DirectoryManagement",
      operationType: "Update",
      targets: [
        {
          id: current.id,
          type: "Other",
          modifiedProperties: [
            { displayName: "OwnerType", oldValue: "User", newValue: "Company" },
            { displayName: "OwnerId", oldValue: current.ownerId, newValue: null },
          ],
        },
      ],
    }),
  ]);
  await sendFollowUps(ctx, [heal.id]);
  return withSku(ctx, next);
}

/** Every subscription of the tenant with its SKU's plans. */
export async function listSubscriptions({ ctx }: { ctx: Ctx }): Promise<SubscriptionListing> {
  requireRole(ctx, can.readLicensing);
  const rows = await listStoredSubscriptions(ctx.d1, ctx.tenantId);
  const plans = await loadSkuPlans(ctx.d1, [...new Set(rows.map((r) => r.subscription.skuId))]);
  return { rows, plans };
}

/** The tenant's pools: its subscriptions, their plans and the seats consumed per SKU. */
export async function listLicensePools({ ctx }: { ctx: Ctx }) {
  requireRole(ctx, can.readLicensing);
  const [listing, consumed, tenant] = await Promise.all([
    listSubscriptions({ ctx }),
    consumedUnits(ctx.d1, ctx.tenantId),
    findTenant(ctx.d1, ctx.tenantId),
  ]);
  return { listing, consumed, tenant: { id: ctx.tenantId, displayName: tenant?.displayName ?? "" } };
}

/** What over-allocation the tenant has: the pools over now, and the alerts changes to seats raised, newest first. */
export async function overallocationReport({ ctx }: { ctx: Ctx }) {
  requireRole(ctx, can.readLicensing);
  return overallocation(ctx.d1, ctx.tenantId);
}
