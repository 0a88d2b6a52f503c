import { auditStatement } from "../audit/store.ts";
import type { Ctx } from "../core/context.ts";
import { invalid, notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { enqueue } from "../jobs/queue.ts";
import { canMoveTo, type SubscriptionStatus } from "./rules.ts";
import { findSkuByIdOrPartNumber, findSubscription, refreshPoolStatements, type SubscriptionRow } from "./store.ts";

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

export async function createSubscription({ ctx, input }: { ctx: Ctx; input: CreateSubscriptionInput }) {
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
  await ctx.d1.batch([
    ctx.d1
      .prepare(
        `INSERT INTO subscriptions (id, tenant_id, sku_id, commerce_subscription_id, total_licenses, status, is_trial, owner_type,
           owner_id, created_at, next_lifecycle_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`,
      )
      .bind(
        row.id,
        row.tenantId,
        row.skuId,
        row.commerceSubscriptionId,
        row.totalLicenses,
        row.status,
        row.isTrial ? 1 : 0,
        row.ownerType,
        row.ownerId,
        row.createdAt,
        row.nextLifecycleAt,
      ),
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
  ]);
  await healSku(ctx, sku.id);
  return { ...row, skuPartNumber: sku.skuPartNumber };
}

export type UpdateSubscriptionInput = {
  totalLicenses?: number | undefined;
  status?: SubscriptionStatus | undefined;
  nextLifecycleDateTime?: string | null | undefined;
};

export async function updateSubscription({ ctx, id, input }: { ctx: Ctx; id: string; input: UpdateSubscriptionInput }) {
  const current = await findSubscription(ctx.d1, ctx.tenantId, id);
  if (!current) throw notFound(id);
  if (input.status && !canMoveTo(current.status, input.status)) {
    throw invalid(`A subscription cannot move from status ${current.status} to ${input.status}.`);
  }
  const next: SubscriptionRow = {
    ...current,
    totalLicenses: input.totalLicenses ?? current.totalLicenses,
    status: input.status ?? current.status,
    nextLifecycleAt: input.nextLifecycleDateTime === undefined ? current.nextLifecycleAt : input.nextLifecycleDateTime,
  };
  await ctx.d1.batch([
    ctx.d1
      .prepare(
        `UPDATE subscriptions SET total_licenses = ?1, status = ?2, next_lifecycle_at = ?3
         WHERE tenant_id = ?4 AND id = ?5`,
      )
      .bind(next.totalLicenses, next.status, next.nextLifecycleAt, ctx.tenantId, id),
    ...refreshPoolStatements(ctx.d1, ctx.tenantId, current.skuId),
    auditStatement(ctx, {
      activity: "Update subscription",
      category: "DirectoryManagement",
      operationType: "Update",
      targets: [
        {
          id,
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
  ]);
  if (next.totalLicenses > current.totalLicenses || (next.status === "Enabled" && current.status !== "Enabled")) {
    await healSku(ctx, current.skuId);
  }
  return next;
}

/** Seats were added: members waiting in CountViolation for this SKU are reprocessed, oldest first (rule 9). */
const healSku = (ctx: Ctx, skuId: string) =>
  enqueue(ctx, [{ kind: "healSeats", tenantId: ctx.tenantId, skuIds: [skuId] }]);

/** Taking over a self-service purchase moves its seats into the admin's pool (spec §3.6). */
export async function takeOverSubscription({ ctx, id }: { ctx: Ctx; id: string }) {
  const current = await findSubscription(ctx.d1, ctx.tenantId, id);
  if (!current) throw notFound(id);
  if (current.ownerType !== "User") throw invalid("Only a self-service (user-owned) subscription can be taken over.");
  await ctx.d1.batch([
    ctx.d1
      .prepare(
        "UPDATE subscriptions SET owner_type = 'Company', owner_id = NULL WHERE tenant_id = ?1 AND id = ?2 AND owner_type = 'User'",
      )
      .bind(ctx.tenantId, id),
    ...refreshPoolStatements(ctx.d1, ctx.tenantId, current.skuId),
    auditStatement(ctx, {
      activity: "Take over self-service subscription",
      category: "DirectoryManagement",
      operationType: "Update",
      targets: [
        {
          id,
          type: "Other",
          modifiedProperties: [
            { displayName: "OwnerType", oldValue: "User", newValue: "Company" },
            { displayName: "OwnerId", oldValue: current.ownerId, newValue: null },
          ],
        },
      ],
    }),
  ]);
  await healSku(ctx, current.skuId);
  return { ...current, ownerType: "Company" as const, ownerId: null };
}
