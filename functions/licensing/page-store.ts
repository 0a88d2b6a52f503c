/**
 * Pages of users as stored: the tenant-wide inputs a job reads once, a page's read (users with everything their
 * licensing depends on, in one batch) and its set-based writes.
 */

import { DIRECT_SOURCE_SEQ, poolSeqOf, sourceOfSeq } from "../../db/seqs.ts";
import { userLicenseChangeStatements } from "../audit/store.ts";
import {
  planRulesSql,
  type SkuPlanRow,
  type SkuPlans,
  skuPlansSql,
  toPlanRules,
  toSkuPlans,
} from "../catalog/store.ts";
import type { Ctx } from "../core/context.ts";
import { guardSql } from "../core/sql.ts";
import { aliasOf, toUserRow, type UserRow, userColumnsFor } from "../directory/store.ts";
import { DELIVERS_SERVICE_SQL } from "../subscriptions/rules.ts";
import { consequenceWrites, type DeliveredLicense, deliveredLicenses } from "./consequences.ts";
import { changeUserLicenseAudit } from "./license-audit.ts";
import type { PageDecision } from "./page-rules.ts";
import type { HeldLicense, PlanRule, ReconcileResult } from "./rules.ts";
import {
  type GroupGrant,
  licensingRowWrites,
  type SourceRow,
  sourcesFingerprint,
  sourcesFingerprintSql,
} from "./store.ts";

/** Tenant-wide inputs that don't change while a job runs a few pages: read once per queue invocation. */
export type TenantLicensing = {
  country: string;
  rules: PlanRule[];
  skus: Map<string, SkuPlans>;
  skuPlans: Map<string, string[]>;
  /** The SKUs whose subscriptions still deliver their plans to holders (some subscription neither Deleted nor LockedOut). */
  delivering: ReadonlySet<string>;
};

/** Statements readTenantLicensing sends (for the per-invocation query budget). */
export const TENANT_LICENSING_QUERIES = 4;

export async function readTenantLicensing(ctx: Ctx): Promise<TenantLicensing> {
  const [tenant, rules, skus, delivering] = await ctx.d1.batch<Record<string, unknown>>([
    ctx.d1.prepare("SELECT country FROM tenants WHERE id = ?1").bind(ctx.tenantId),
    ctx.d1.prepare(planRulesSql("?1")).bind(ctx.tenantId),
    ctx.d1.prepare(skuPlansSql("SELECT sku_id FROM seat_pools WHERE tenant_id = ?1")).bind(ctx.tenantId),
    ctx.d1
      .prepare(`SELECT DISTINCT sku_id AS skuId FROM subscriptions WHERE tenant_id = ?1 AND ${DELIVERS_SERVICE_SQL}`)
      .bind(ctx.tenantId),
  ]);
  const skuMap = toSkuPlans((skus?.results ?? []) as unknown as SkuPlanRow[]);
  return {
    country: String(tenant?.results[0]?.country ?? ""),
    rules: toPlanRules(rules?.results ?? []),
    skus: skuMap,
    skuPlans: new Map([...skuMap].map(([id, sku]) => [id, sku.servicePlans.map((p) => p.id)])),
    delivering: new Set((delivering?.results ?? []).map((r) => String(r.skuId))),
  };
}

export type PageUser = {
  seq: number;
  id: string;
  displayName: string;
  userPrincipalName: string;
  usageLocation: string | null;
  licenseVersion: number;
  sources: SourceRow[];
  /** sourcesFingerprint of the sources as read: the page's write guard compares it. */
  sourcesFingerprint: string;
  grants: GroupGrant[];
  held: Map<string, HeldLicense>;
  /** The attributes the page was read `withAttributes` (what a membership rule reads); the rest are absent. */
  attributes?: UserRow;
  /** Whether the user is a member of the group the page was read `memberOf`. */
  member?: boolean;
};

export type Page = {
  /** The user seqs the selector yielded, in order (deleted users among them are skipped but still move the cursor). */
  seqs: number[];
  users: PageUser[];
  pools: Map<string, { enabled: number; consumed: number }>;
  /** What each licensed security group hands out, by group id, in SKU order. */
  grantsOf: ReadonlyMap<string, readonly GroupGrant[]>;
};

export type PageOptions = {
  /** UserRow keys to read besides the ones licensing needs. */
  withAttributes?: readonly string[];
  /** A group's seq: each user of the page says whether they are its member. */
  memberOf?: number;
};

const licensingColumns = userColumnsFor(["id", "displayName", "userPrincipalName", "usageLocation", "licenseVersion"]);

/** The user columns a page read brings, in the order they follow the fixed part of each user's array. */
const pageColumns = (options: PageOptions) => [
  ...new Set([...licensingColumns, ...userColumnsFor(options.withAttributes ?? [])]),
];

/** A user of a page read: [seq, member, sources, licensedGroups, held, ...pageColumns]. */
type PageRow = [
  seq: number,
  member: number | null,
  sources: [number, number, string, string[], string, string, string][],
  licensedGroups: number[],
  held: [number, string[], string][],
  ...columns: unknown[],
];
const FIXED = 5;

/**
 * Users per row of a page read. Bounds each JSON text well under D1's 2,000,000-byte limit on a value even for users
 * with dozens of licenses, while a page of 2,000 still crosses as 40 rows.
 */
const USERS_PER_ROW = 50;

/** Statements a page read sends (for the per-invocation query budget). */
export const READ_PAGE_QUERIES = 3;

/** A page selector: SQL yielding the page's user seqs, seeing the tenant as ?1 and its own parameters from ?2. */
export type PageSelector = { sql: string; params: unknown[] };

/**
 * Reads a page of users and everything their licensing depends on, in one batch. `selector` is SQL yielding the
 * page's user seqs (of a JSON list of ids, the next members of a group, the next users of the tenant).
 */
export async function readPage(ctx: Ctx, selector: PageSelector, options: PageOptions = {}): Promise<Page> {
  return parsePage(await ctx.d1.batch<Record<string, unknown>>(pageReadStatements(ctx, selector, options)), options);
}

/**
 * The READ_PAGE_QUERIES statements of a page read, for a batch of their own or for the tail of another batch (a job
 * reads its next page in the batch that writes the current one); parsePage turns their results into the page.
 */
export function pageReadStatements(ctx: Ctx, selector: PageSelector, options: PageOptions = {}): D1PreparedStatement[] {
  const { d1, tenantId } = ctx;
  const memberParam = `?${selector.params.length + 2}`;
  // The page crosses from D1 as a few JSON texts of USERS_PER_ROW users each, every user an array with their sources,
  // licensed groups and licenses nested: turning a thousand result rows into objects, and three JSON.parse calls a
  // user, cost about a tenth of a job in workerd. Arrays, not objects: key names would be a third of the text.
  const columns = pageColumns(options)
    .map((c) => c.split(" AS ")[0])
    .join(", ");
  return [
    d1
      .prepare(
        `WITH selected AS (${selector.sql}),
           page AS (SELECT seq, (row_number() OVER (ORDER BY seq) - 1) / ${USERS_PER_ROW} AS part FROM selected)
         SELECT json_group_array(json_array(page.seq,
           ${
             options.memberOf
               ? `EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_seq = ${memberParam} AND gm.user_seq = page.seq)`
               : "NULL"
           },
           json((SELECT json_group_array(json_array(pool_seq, source_seq, ${sourceOfSeq("source_seq")},
              json(disabled_plans), state, error, last_updated_at)) FROM license_sources WHERE user_seq = u.seq)),
           json((SELECT json_group_array(gm.group_seq) FROM group_members gm WHERE gm.user_seq = u.seq
              AND gm.group_seq IN (SELECT g.seq FROM group_licenses gl JOIN groups g ON g.id = gl.group_id WHERE gl.tenant_id = ?1))),
           json((SELECT json_group_array(json_array(pool_seq, json(disabled_plans), assigned_at))
              FROM user_licenses WHERE user_seq = u.seq)),
           ${columns}) ORDER BY page.seq) AS users
         FROM page LEFT JOIN users u ON u.seq = page.seq AND u.tenant_id = ?1 AND u.deleted_at IS NULL
         GROUP BY page.part ORDER BY page.part`,
      )
      .bind(tenantId, ...selector.params, ...(options.memberOf ? [options.memberOf] : [])),
    d1
      .prepare(
        "SELECT seq, sku_id AS skuId, enabled_units AS enabled, consumed_units AS consumed FROM seat_pools WHERE tenant_id = ?1",
      )
      .bind(tenantId),
    // What each licensed group hands out, read once: a member's row names only their licensed groups (joining every
    // member's groups to their licenses cost a third of this read).
    d1
      .prepare(
        `SELECT g.seq AS groupSeq, gl.group_id AS groupId, gl.sku_id AS skuId, gl.disabled_plans AS disabledPlans FROM group_licenses gl
         JOIN groups g ON g.id = gl.group_id AND g.deleted_at IS NULL AND g.security_enabled = 1
         WHERE gl.tenant_id = ?1 ORDER BY gl.group_id, gl.sku_id`,
      )
      .bind(tenantId),
  ];
}

/** The page from the results of pageReadStatements (the last READ_PAGE_QUERIES results of a batch). */
export function parsePage(results: readonly D1Result<unknown>[], options: PageOptions = {}): Page {
  const [rows, pools, groupGrants] = results.slice(-READ_PAGE_QUERIES) as D1Result<Record<string, unknown>>[];
  const grantsOf = new Map<string, GroupGrant[]>();
  const groupIdOf = new Map<number, string>();
  for (const r of groupGrants?.results ?? []) {
    const groupId = String(r.groupId);
    groupIdOf.set(Number(r.groupSeq), groupId);
    const grant = { groupId, skuId: String(r.skuId), disabledPlans: JSON.parse(String(r.disabledPlans)) as string[] };
    const grants = grantsOf.get(groupId);
    if (grants) grants.push(grant);
    else grantsOf.set(groupId, [grant]);
  }
  // Sources and licenses name their SKU by the tenant's pool seq: every pool came with this page.
  const skuOf = new Map((pools?.results ?? []).map((r) => [Number(r.seq), String(r.skuId)]));
  const seqs: number[] = [];
  const users: PageUser[] = [];
  const aliases = pageColumns(options).map(aliasOf);
  const at = (alias: string) => FIXED + aliases.indexOf(alias);
  const [ID, NAME, UPN, LOCATION, VERSION] = [
    at("id"),
    at("displayName"),
    at("userPrincipalName"),
    at("usageLocation"),
    at("licenseVersion"),
  ];
  const selected = (rows?.results ?? []).flatMap((r) => JSON.parse(String(r.users)) as PageRow[]);
  for (const r of selected) {
    const [seq, member, sources, groupSeqs, held] = r;
    seqs.push(seq);
    // A deleted user (or one of another tenant) still moves the cursor, but is not decided.
    if (r[NAME] === null || r[NAME] === undefined) continue;
    const licensedGroups = groupSeqs.map((g) => groupIdOf.get(g)!).sort();
    users.push({
      seq,
      id: String(r[ID]),
      displayName: String(r[NAME]),
      userPrincipalName: String(r[UPN]),
      usageLocation: (r[LOCATION] as string | null) ?? null,
      licenseVersion: Number(r[VERSION]),
      sources: sources.map(([poolSeq, , sourceId, disabledPlans, state, error, lastUpdatedAt]) => ({
        skuId: skuOf.get(poolSeq)!,
        sourceId,
        disabledPlans,
        state: state as SourceRow["state"],
        error: error as SourceRow["error"],
        lastUpdatedAt,
      })),
      sourcesFingerprint: sourcesFingerprint(
        sources.map(([poolSeq, sourceSeq, , disabledPlans, state, error, lastUpdatedAt]) => [
          poolSeq,
          sourceSeq,
          state,
          error,
          lastUpdatedAt,
          JSON.stringify(disabledPlans),
        ]),
      ),
      // In (group, sku) order, as a single user's read gives them. Grants are shared between users: never mutated.
      grants: licensedGroups.flatMap((groupId) => grantsOf.get(groupId) ?? []),
      held: new Map(
        held.map(([poolSeq, disabledPlans, assignedAt]) => [skuOf.get(poolSeq)!, { disabledPlans, assignedAt }]),
      ),
      ...(options.withAttributes
        ? { attributes: toUserRow(Object.fromEntries(aliases.map((alias, i) => [alias, r[FIXED + i]]))) }
        : {}),
      ...(options.memberOf ? { member: member === 1 } : {}),
    });
  }
  return {
    seqs,
    users,
    pools: new Map(
      (pools?.results ?? []).map((r) => [
        String(r.skuId),
        { enabled: Number(r.enabled), consumed: Number(r.consumed) },
      ]),
    ),
    grantsOf,
  };
}

/**
 * The page's writes as a handful of set-based statements (never one per member). Guarded on every changed user's
 * licenseVersion and on each pool that gains consumers, so a concurrent direct assignment can't be overrun; a failed
 * guard aborts the batch and the caller decides the page again.
 */
export function pageWrites(ctx: Ctx, tenant: TenantLicensing, decision: PageDecision): D1PreparedStatement[] {
  const { d1, tenantId } = ctx;
  if (decision.changed.length === 0) return [];
  const seen = JSON.stringify(
    decision.changed.map(({ user }) => [user.seq, user.licenseVersion, user.sourcesFingerprint]),
  );
  const statements: D1PreparedStatement[] = [
    // Every changed user is as read: same attributes (licenseVersion, which direct changes and user updates move)
    // and same sources (another job's page may have written them). A read-only check, so a page of 1,000 users
    // rewrites no user rows; CROSS JOIN keeps the page's list as the outer loop (one key probe per user).
    d1
      .prepare(
        guardSql(`(SELECT count(*) FROM json_each(?2) AS seen CROSS JOIN users AS u ON u.seq = seen.value ->> 0
           WHERE u.tenant_id = ?1 AND u.deleted_at IS NULL AND u.license_version = seen.value ->> 1
             AND ${sourcesFingerprintSql("u.seq")} = seen.value ->> 2) = json_array_length(?2)`),
      )
      .bind(tenantId, seen),
  ];
  const moves = [...decision.seatMoves].map(([sku, m]) => ({ sku, d: m.taken - m.freed, t: m.taken }));
  if (moves.length > 0) {
    statements.push(
      d1
        .prepare(
          `WITH m AS (SELECT value ->> '$.sku' AS sku, value ->> '$.d' AS d, value ->> '$.t' AS t FROM json_each(?2))
           UPDATE seat_pools SET consumed_units = consumed_units + (SELECT d FROM m WHERE m.sku = seat_pools.sku_id)
           WHERE tenant_id = ?1 AND sku_id IN (SELECT sku FROM m)
             AND ((SELECT t FROM m WHERE m.sku = seat_pools.sku_id) = 0
                  OR consumed_units + (SELECT d FROM m WHERE m.sku = seat_pools.sku_id) <= enabled_units)`,
        )
        .bind(tenantId, JSON.stringify(moves)),
      d1.prepare(guardSql(`changes() = ${moves.length}`)),
    );
  }
  statements.push(
    ...licensingRowWrites(
      ctx,
      decision.changed.map(({ user, result }) => ({
        userSeq: user.seq,
        sources: user.sources,
        held: user.held,
        result,
      })),
    ),
    ...pageConsequences(ctx, tenant, decision),
  );
  // Users decided alike share their result object, and their audit values with it.
  const values = new Map<ReconcileResult, ReturnType<typeof changeUserLicenseAudit>>();
  const audit = decision.changed
    .map(({ user, result }) => {
      if (!values.has(result)) {
        values.set(
          result,
          changeUserLicenseAudit({ user, held: user.held, sources: user.sources, skus: tenant.skus }, result),
        );
      }
      const change = values.get(result);
      return change && { ...change, user };
    })
    .filter((entry) => entry !== undefined);
  statements.push(...userLicenseChangeStatements(ctx, audit));
  return statements;
}

/** What the page's licensing changes mean elsewhere (mailboxes, OneDrives), as the registered contributors write it. */
function pageConsequences(ctx: Ctx, tenant: TenantLicensing, decision: PageDecision): D1PreparedStatement[] {
  const delivers = (skuId: string) => tenant.delivering.has(skuId);
  // Users decided alike share their result, and their licenses after with it.
  const after = new Map<ReconcileResult, DeliveredLicense[]>();
  const changes = decision.changed.map(({ user, result }) => {
    let licenses = after.get(result);
    if (!licenses) {
      licenses = deliveredLicenses(result.licenses, delivers);
      after.set(result, licenses);
    }
    return {
      userSeq: user.seq,
      before: deliveredLicenses(user.held, delivers),
      after: licenses,
      deletedBefore: false,
      deletedAfter: false,
    };
  });
  return consequenceWrites(ctx, changes, (skuId) => tenant.skus.get(skuId)?.servicePlans);
}

/** A page read for the job engine: its statements, parsed back from the tail of the batch they end. */
export const pageRead = (ctx: Ctx, selector: PageSelector, options: PageOptions = {}) => ({
  statements: pageReadStatements(ctx, selector, options),
  parse: (results: readonly D1Result[]) => parsePage(results, options),
});

/** The page selector of the listed users (a reconcile of these ids). */
export const usersByIdSelector = (ids: readonly string[]): PageSelector => ({
  sql: "SELECT u.seq FROM json_each(?2) AS j CROSS JOIN users AS u ON u.id = j.value WHERE u.tenant_id = ?1",
  params: [JSON.stringify(ids)],
});

/**
 * The next page of users waiting for a seat of a SKU (CountViolation from a group), oldest first, with the seats
 * free: what seat healing reads before reconciling them.
 */
export async function seatWaitersPage(ctx: Ctx, skuId: string, limit: number) {
  // INDEXED BY: for the GROUP BY the planner would otherwise walk every source of the tenant in key order.
  const row = await ctx.d1
    .prepare(
      `SELECT (SELECT enabled_units - consumed_units FROM seat_pools WHERE tenant_id = ?1 AND sku_id = ?2) AS free,
         (SELECT json_group_array((SELECT id FROM users WHERE seq = user_seq)) FROM (
            SELECT user_seq, min(last_updated_at) AS since FROM license_sources INDEXED BY license_sources_waiting
            WHERE pool_seq = ${poolSeqOf("?1", "?2")} AND error = 'CountViolation' AND source_seq <> ?3
            GROUP BY user_seq ORDER BY since, user_seq LIMIT ?4)) AS waiting`,
    )
    .bind(ctx.tenantId, skuId, DIRECT_SOURCE_SEQ, limit)
    .first<{ free: number | null; waiting: string }>();
  return { free: Number(row?.free ?? 0), waiting: JSON.parse(row?.waiting ?? "[]") as string[] };
}
