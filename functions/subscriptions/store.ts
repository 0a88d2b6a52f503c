/** Subscriptions and seat pools as stored: reads and the write builders of the subscriptions capability. */

import type { skus, subscriptions } from "../../db/schema/index.ts";
import { invalid } from "../core/errors.ts";
import { licensingChanged } from "../tenancy/store.ts";
import { DELIVERS_SERVICE_SQL } from "./rules.ts";

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

/**
 * Whether a subscription starting or stopping to deliver its SKU's plans changes what the SKU's holders get: no other
 * subscription of the SKU delivers (subscriptions/rules deliversService), and somebody holds the SKU (its pool has seats
 * in use).
 */
export async function deliveryMatters(d1: D1Database, tenantId: string, skuId: string, exceptId: string) {
  const row = await d1
    .prepare(
      `SELECT NOT EXISTS (SELECT 1 FROM subscriptions WHERE tenant_id = ?1 AND sku_id = ?2 AND id <> ?3
           AND ${DELIVERS_SERVICE_SQL})
         AND coalesce((SELECT consumed_units FROM seat_pools WHERE tenant_id = ?1 AND sku_id = ?2), 0) > 0
         AS matters`,
    )
    .bind(tenantId, skuId, exceptId)
    .first<{ matters: number }>();
  return row?.matters === 1;
}

const subscriptionColumns = `s.id, s.tenant_id AS tenantId, s.sku_id AS skuId, s.commerce_subscription_id AS commerceSubscriptionId,
  s.total_licenses AS totalLicenses, s.status, s.is_trial AS isTrial, s.owner_type AS ownerType, s.owner_id AS ownerId,
  s.created_at AS createdAt, s.next_lifecycle_at AS nextLifecycleAt`;

/** SQLite hands booleans back as 0/1. */
const toSubscriptionRow = (raw: Record<string, unknown>): SubscriptionRow => ({
  ...(raw as SubscriptionRow),
  isTrial: raw.isTrial === 1 || raw.isTrial === true,
});

export async function findSubscription(d1: D1Database, tenantId: string, id: string) {
  const row = await d1
    .prepare(`SELECT ${subscriptionColumns} FROM subscriptions s WHERE s.tenant_id = ?1 AND s.id = ?2`)
    .bind(tenantId, id)
    .first<Record<string, unknown>>();
  return row ? toSubscriptionRow(row) : undefined;
}

export async function listSubscriptions(d1: D1Database, tenantId: string) {
  const { results } = await d1
    .prepare(
      `SELECT ${subscriptionColumns}, k.sku_part_number AS skuPartNumber FROM subscriptions s JOIN skus k ON k.id = s.sku_id
       WHERE s.tenant_id = ?1 ORDER BY s.created_at, s.id`,
    )
    .bind(tenantId)
    .all<Record<string, unknown>>();
  return results.map((raw) => ({ subscription: toSubscriptionRow(raw), skuPartNumber: String(raw.skuPartNumber) }));
}

export type SkuRow = typeof skus.$inferSelect;
const skuColumns = "id, sku_part_number AS skuPartNumber, display_name AS displayName, applies_to AS appliesTo";

export async function findSkuByIdOrPartNumber(
  d1: D1Database,
  ref: { skuId?: string | undefined; skuPartNumber?: string | undefined },
): Promise<SkuRow | undefined> {
  if (ref.skuId) {
    const row = await d1
      .prepare(`SELECT ${skuColumns} FROM skus WHERE id = ?1`)
      .bind(ref.skuId.toLowerCase())
      .first<SkuRow>();
    return row ?? undefined;
  }
  if (ref.skuPartNumber) {
    const { results: matches } = await d1
      .prepare(`SELECT ${skuColumns} FROM skus WHERE sku_part_number = ?1 ORDER BY id LIMIT 2`)
      .bind(ref.skuPartNumber)
      .all<SkuRow>();
    // Microsoft's list reuses a few String_Ids: never guess which product was meant.
    if (matches.length > 1) {
      throw invalid(
        `skuPartNumber '${ref.skuPartNumber}' names more than one product (${matches.map((m) => m.id).join(", ")}): give skuId instead.`,
      );
    }
    return matches[0];
  }
  return undefined;
}

export const insertSubscriptionStatement = (d1: D1Database, row: SubscriptionRow) =>
  d1
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
    );

export const updateSubscriptionStatement = (d1: D1Database, row: SubscriptionRow) =>
  d1
    .prepare(
      `UPDATE subscriptions SET total_licenses = ?1, status = ?2, next_lifecycle_at = ?3, owner_type = ?4, owner_id = ?5
       WHERE tenant_id = ?6 AND id = ?7`,
    )
    .bind(row.totalLicenses, row.status, row.nextLifecycleAt, row.ownerType, row.ownerId, row.tenantId, row.id);

/** Consumed seats per SKU of the tenant's pools. */
export async function consumedUnits(d1: D1Database, tenantId: string): Promise<Map<string, number>> {
  const { results } = await d1
    .prepare("SELECT sku_id AS skuId, consumed_units AS consumed FROM seat_pools WHERE tenant_id = ?1")
    .bind(tenantId)
    .all<{ skuId: string; consumed: number }>();
  return new Map(results.map((p) => [p.skuId, p.consumed]));
}

/**
 * Records an over-allocation alert when, after the batch's own pool refresh, the pool has more seats consumed than
 * enabled (seats cut below use, a subscription suspended): RETURNING says whether it did, and with which figures.
 */
export const overallocationAlertStatement = (
  d1: D1Database,
  alert: { id: string; tenantId: string; skuId: string; subscriptionId: string; at: string },
) =>
  d1
    .prepare(
      `INSERT INTO overallocation_alerts (id, tenant_id, sku_id, subscription_id, enabled_units, consumed_units, created_at)
       SELECT ?1, tenant_id, sku_id, ?4, enabled_units, consumed_units, ?5 FROM seat_pools
       WHERE tenant_id = ?2 AND sku_id = ?3 AND consumed_units > enabled_units
       RETURNING enabled_units AS enabledUnits, consumed_units AS consumedUnits`,
    )
    .bind(alert.id, alert.tenantId, alert.skuId, alert.subscriptionId, alert.at);

export type OverallocationAlert = {
  id: string;
  skuId: string;
  subscriptionId: string;
  enabledUnits: number;
  consumedUnits: number;
  createdAt: string;
};

/** The tenant's over-allocation alerts, newest first, and the pools over-allocated now. */
export async function overallocation(d1: D1Database, tenantId: string, limit = 100) {
  const [alerts, pools] = await d1.batch<Record<string, unknown>>([
    d1
      .prepare(
        `SELECT id, sku_id AS skuId, subscription_id AS subscriptionId, enabled_units AS enabledUnits,
           consumed_units AS consumedUnits, created_at AS createdAt
         FROM overallocation_alerts WHERE tenant_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2`,
      )
      .bind(tenantId, limit),
    d1
      .prepare(
        `SELECT p.sku_id AS skuId, k.sku_part_number AS skuPartNumber, p.enabled_units AS enabledUnits,
           p.consumed_units AS consumedUnits
         FROM seat_pools p JOIN skus k ON k.id = p.sku_id WHERE p.tenant_id = ?1 AND p.consumed_units > p.enabled_units
         ORDER BY p.sku_id`,
      )
      .bind(tenantId),
  ]);
  return {
    alerts: (alerts?.results ?? []) as OverallocationAlert[],
    pools: (pools?.results ?? []) as {
      skuId: string;
      skuPartNumber: string;
      enabledUnits: number;
      consumedUnits: number;
    }[],
  };
}
