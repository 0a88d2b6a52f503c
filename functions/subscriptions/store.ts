import { and, eq } from "drizzle-orm";
import { skus, subscriptions } from "../../db/schema/index.ts";
import type { Db } from "../core/context.ts";
import { badRequest } from "../core/errors.ts";
import { licensingChanged } from "../licensing/store.ts";

export type SubscriptionRow = typeof subscriptions.$inferSelect;

/**
 * Re-derives a pool's enabled units from its subscriptions inside the batch that changed them, so the counter the
 * seat check guards never drifts from the subscriptions it summarises.
 */
export function refreshPoolStatements(d1: D1Database, tenantId: string, skuId: string): D1PreparedStatement[] {
  return [
    licensingChanged(d1, tenantId),
    d1
      .prepare(
        "INSERT INTO seat_pools (tenant_id, sku_id, enabled_units, consumed_units) VALUES (?1, ?2, 0, 0) ON CONFLICT DO NOTHING",
      )
      .bind(tenantId, skuId),
    d1
      .prepare(
        `UPDATE seat_pools SET enabled_units = (
           SELECT coalesce(sum(total_licenses), 0) FROM subscriptions
           WHERE tenant_id = ?1 AND sku_id = ?2 AND status = 'Enabled' AND owner_type = 'Company')
         WHERE tenant_id = ?1 AND sku_id = ?2`,
      )
      .bind(tenantId, skuId),
  ];
}

export async function findSubscription(db: Db, tenantId: string, id: string) {
  return db
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.tenantId, tenantId), eq(subscriptions.id, id)))
    .get();
}

export async function listSubscriptions(db: Db, tenantId: string) {
  return db
    .select({ subscription: subscriptions, skuPartNumber: skus.skuPartNumber })
    .from(subscriptions)
    .innerJoin(skus, eq(skus.id, subscriptions.skuId))
    .where(eq(subscriptions.tenantId, tenantId))
    .orderBy(subscriptions.createdAt, subscriptions.id);
}

export async function findSkuByIdOrPartNumber(
  db: Db,
  ref: { skuId?: string | undefined; skuPartNumber?: string | undefined },
) {
  if (ref.skuId) return db.select().from(skus).where(eq(skus.id, ref.skuId.toLowerCase())).get();
  if (ref.skuPartNumber) {
    const matches = await db
      .select()
      .from(skus)
      .where(eq(skus.skuPartNumber, ref.skuPartNumber))
      .orderBy(skus.id)
      .limit(2);
    // Microsoft's list reuses a few String_Ids: never guess which product was meant.
    if (matches.length > 1) {
      throw badRequest(
        `skuPartNumber '${ref.skuPartNumber}' names more than one product (${matches.map((m) => m.id).join(", ")}): give skuId instead.`,
      );
    }
    return matches[0];
  }
  return undefined;
}
