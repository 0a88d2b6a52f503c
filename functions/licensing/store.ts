/**
 * Licensing as stored: a user's licensing read in one batch, its guarded writes, the set-based row writes every path
 * shares, the groups' licenses, and the reads behind the licensing views.
 */

import { DIRECT_SOURCE_ID, DIRECT_SOURCE_SEQ, poolSeqOf, skuOfPool, sourceOfSeq, sourceSeqOf } from "../../db/seqs.ts";
import type { BulkAuditRow } from "../audit/store.ts";
import {
  planRulesSql,
  type SkuPlanRow,
  type SkuPlans,
  skuPlansSql,
  toPlanRules,
  toSkuPlans,
} from "../catalog/store.ts";
import type { Ctx } from "../core/context.ts";
import { isGuid } from "../core/ids.ts";
import { Distinct, guardedValue } from "../core/sql.ts";
import {
  toUserRow,
  type UserRow,
  type UserSelector,
  userByRefQuery,
  userColumns,
  userSeqByRefSql,
} from "../directory/store.ts";
import { DELIVERS_SERVICE_SQL } from "../subscriptions/rules.ts";
import { consequenceStateColumns, deliveredLicenses, singleUserConsequences } from "./consequences.ts";
import type { HeldLicense, PlanRule, ReconcileResult, SourceOutcome } from "./rules.ts";

/** A license_sources row: an outcome as stored (the violation's message is not kept, its error code is). */
export type SourceRow = Omit<SourceOutcome, "violation">;

/**
 * A user's stored sources as one string, computed alike in SQL and here: a licensing write compares it to what it
 * read, so a change made meanwhile by a group job (which moves no per-user version) fails the write's guard. Built
 * from the rows as stored (seqs, not ids), in key order: the guard of a page of thousands computes one per user.
 */
export const sourcesFingerprintSql = (userSeqSql: string) =>
  `coalesce((SELECT group_concat(f, ';') FROM (
     SELECT pool_seq || ',' || source_seq || ',' || state || ',' || error || ',' || last_updated_at || ',' || disabled_plans AS f
     FROM license_sources WHERE user_seq = ${userSeqSql} ORDER BY pool_seq, source_seq)), '')`;

/** A license_sources row's fingerprinted columns, as stored (disabled plans as their JSON text). */
export type StoredSource = readonly [
  poolSeq: number,
  sourceSeq: number,
  state: string,
  error: string,
  lastUpdatedAt: string,
  disabledPlans: string,
];

export const sourcesFingerprint = (rows: readonly StoredSource[]) =>
  [...rows]
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map((r) => r.join(","))
    .join(";");

/**
 * The fingerprint `sources` will have once stored (as sourcesFingerprintSql computes it), or undefined when a SKU or
 * source among them has a seq the snapshot does not know.
 */
export function fingerprintAfter(
  seqs: UserLicensingSnapshot["seqs"],
  sources: readonly SourceRow[],
): string | undefined {
  const rows: StoredSource[] = [];
  for (const s of sources) {
    const poolSeq = seqs.pools.get(s.skuId);
    const sourceSeq = seqs.sources.get(s.sourceId);
    if (poolSeq === undefined || sourceSeq === undefined) return undefined;
    rows.push([poolSeq, sourceSeq, s.state, s.error, s.lastUpdatedAt, JSON.stringify(s.disabledPlans)]);
  }
  return sourcesFingerprint(rows);
}

/** Strips an outcome down to its stored columns. */
export const toSourceRow = ({ skuId, sourceId, disabledPlans, state, error, lastUpdatedAt }: SourceRow): SourceRow => ({
  skuId,
  sourceId,
  disabledPlans,
  state,
  error,
  lastUpdatedAt,
});

export type SkuHolding = {
  companySubscriptions: number;
  selfServiceSubscriptions: number;
  /** Subscriptions that still deliver the SKU's plans to its holders: any not Deleted nor LockedOut. */
  deliveringSubscriptions: number;
};

/** A SKU's holding, per subscription status and owner (the columns of a GROUP BY sku_id over subscriptions). */
const holdingColumns = `sum(owner_type = 'Company' AND status <> 'Deleted') AS companySubscriptions,
  sum(owner_type = 'User' AND status <> 'Deleted') AS selfServiceSubscriptions,
  sum(${DELIVERS_SERVICE_SQL}) AS deliveringSubscriptions`;

/** What a group the user belongs to hands out: one row per (group, sku). */
export type GroupGrant = { groupId: string; skuId: string; disabledPlans: string[] };

/** Everything the licensing rules need about one user, read in one D1 round trip. */
export type UserLicensingSnapshot = {
  user: UserRow;
  tenantCountry: string;
  sources: SourceRow[];
  /** sourcesFingerprint of the sources as read. */
  sourcesFingerprint: string;
  /** The seqs stored sources are keyed by, for the SKUs and sources this read involves (see fingerprintAfter). */
  seqs: { pools: ReadonlyMap<string, number>; sources: ReadonlyMap<string, number> };
  grants: GroupGrant[];
  held: Map<string, HeldLicense>;
  pools: Map<string, { enabled: number; consumed: number }>;
  holdings: Map<string, SkuHolding>;
  skus: Map<string, SkuPlans>;
  rules: PlanRule[];
  /** The tenant's licensing version when read: subscriptions, plan rules and the catalogue as they were. */
  licensingVersion: number;
  /** What each licensing consequence with a single-user path decides on, as read (consequences.ts), by its name. */
  consequenceStates: ReadonlyMap<string, string>;
};

const parseList = (json: string): string[] => JSON.parse(json) as string[];

/**
 * Reads a user's licensing state in one batch. `extraSkuIds` are SKUs the caller is about to add: their catalogue
 * entries, pools and subscriptions come along with those of every SKU the user already has a source for.
 */
export async function readUserLicensing(
  ctx: Ctx,
  userRef: string,
  extraSkuIds: readonly string[],
  options: { deleted?: boolean } = {},
): Promise<UserLicensingSnapshot | undefined> {
  const { d1, tenantId } = ctx;
  // A restore reads a user in the recycle bin, by id only (a deleted user's userPrincipalName names no live user).
  const who = options.deleted
    ? "u.deleted_at IS NOT NULL AND u.hard_deleted_at IS NULL AND u.id = args.ref"
    : `u.deleted_at IS NULL AND ${isGuid(userRef) ? "u.id" : "u.user_principal_name"} = args.ref`;
  // Every statement shares one preamble so all bind the same three parameters: tenant, user reference, extra SKUs.
  const preamble = `WITH args AS (SELECT ?1 AS tenant, ?2 AS ref, ?3 AS extra),
    me AS (SELECT u.seq FROM users u, args WHERE u.tenant_id = args.tenant AND ${who}),
    grants AS (SELECT gl.group_id, g.seq AS group_seq, gl.sku_id, gl.disabled_plans FROM group_members gm
               JOIN groups g ON g.seq = gm.group_seq AND g.deleted_at IS NULL AND g.security_enabled = 1
               JOIN group_licenses gl ON gl.group_id = g.id
               WHERE gm.user_seq = (SELECT seq FROM me)),
    involved AS (SELECT value AS sku_id FROM args, json_each(args.extra)
                 UNION SELECT ${skuOfPool("ls.pool_seq")} FROM license_sources ls WHERE ls.user_seq = (SELECT seq FROM me)
                 UNION SELECT sku_id FROM grants)`;
  const bind = (sql: string) =>
    d1.prepare(`${preamble} ${sql}`).bind(tenantId, userRef.toLowerCase(), JSON.stringify(extraSkuIds));
  const stateColumns = consequenceStateColumns("u.seq");
  const [userRows, tenantRows, sourceRows, grantRows, heldRows, poolRows, holdingRows, skuRows, ruleRows] =
    await d1.batch<Record<string, unknown>>([
      bind(
        `SELECT ${[userColumns, ...stateColumns.map(([, sql], i) => `${sql} AS consequence${i}`)].join(", ")}
         FROM users u WHERE u.seq = (SELECT seq FROM me)`,
      ),
      bind("SELECT country, licensing_version AS licensingVersion FROM tenants, args WHERE id = args.tenant"),
      bind(
        `SELECT pool_seq AS poolSeq, source_seq AS sourceSeq, ${skuOfPool("pool_seq")} AS skuId, ${sourceOfSeq("source_seq")} AS sourceId,
         disabled_plans AS disabledPlans, state, error, last_updated_at AS lastUpdatedAt
         FROM license_sources WHERE user_seq = (SELECT seq FROM me)`,
      ),
      bind(
        "SELECT group_id AS groupId, group_seq AS groupSeq, sku_id AS skuId, disabled_plans AS disabledPlans FROM grants ORDER BY group_id, sku_id",
      ),
      bind(
        `SELECT ${skuOfPool("pool_seq")} AS skuId, disabled_plans AS disabledPlans, assigned_at AS assignedAt
       FROM user_licenses WHERE user_seq = (SELECT seq FROM me)`,
      ),
      bind(
        `SELECT sku_id AS skuId, seq AS poolSeq, enabled_units AS enabled, consumed_units AS consumed FROM seat_pools, args
       WHERE tenant_id = args.tenant AND sku_id IN (SELECT sku_id FROM involved)`,
      ),
      bind(
        `SELECT sku_id AS skuId, ${holdingColumns}
       FROM subscriptions, args WHERE tenant_id = args.tenant AND sku_id IN (SELECT sku_id FROM involved) GROUP BY sku_id`,
      ),
      bind(skuPlansSql("SELECT sku_id FROM involved")),
      bind(planRulesSql("(SELECT tenant FROM args)")),
    ]);
  const userRow = userRows?.results[0];
  if (!userRow) return undefined;
  return {
    user: toUserRow(userRow),
    tenantCountry: String(tenantRows?.results[0]?.country ?? ""),
    sources: (sourceRows?.results ?? []).map((r) => ({
      skuId: String(r.skuId),
      sourceId: String(r.sourceId),
      disabledPlans: parseList(String(r.disabledPlans)),
      state: r.state as SourceRow["state"],
      error: r.error as SourceRow["error"],
      lastUpdatedAt: String(r.lastUpdatedAt),
    })),
    sourcesFingerprint: sourcesFingerprint(
      (sourceRows?.results ?? []).map((r) => [
        Number(r.poolSeq),
        Number(r.sourceSeq),
        String(r.state),
        String(r.error),
        String(r.lastUpdatedAt),
        String(r.disabledPlans),
      ]),
    ),
    seqs: {
      pools: new Map([
        ...(poolRows?.results ?? []).map((r): [string, number] => [String(r.skuId), Number(r.poolSeq)]),
        ...(sourceRows?.results ?? []).map((r): [string, number] => [String(r.skuId), Number(r.poolSeq)]),
      ]),
      sources: new Map<string, number>([
        [DIRECT_SOURCE_ID, DIRECT_SOURCE_SEQ],
        ...(grantRows?.results ?? []).map((r): [string, number] => [String(r.groupId), Number(r.groupSeq)]),
        ...(sourceRows?.results ?? []).map((r): [string, number] => [String(r.sourceId), Number(r.sourceSeq)]),
      ]),
    },
    grants: (grantRows?.results ?? []).map((r) => ({
      groupId: String(r.groupId),
      skuId: String(r.skuId),
      disabledPlans: parseList(String(r.disabledPlans)),
    })),
    held: new Map(
      (heldRows?.results ?? []).map((r) => [
        String(r.skuId),
        { disabledPlans: parseList(String(r.disabledPlans)), assignedAt: String(r.assignedAt) },
      ]),
    ),
    pools: new Map(
      (poolRows?.results ?? []).map((r) => [
        String(r.skuId),
        { enabled: Number(r.enabled), consumed: Number(r.consumed) },
      ]),
    ),
    holdings: toHoldings(holdingRows?.results ?? []),
    skus: toSkuPlans((skuRows?.results ?? []) as SkuPlanRow[]),
    licensingVersion: Number(tenantRows?.results[0]?.licensingVersion ?? 0),
    rules: toPlanRules(ruleRows?.results ?? []),
    consequenceStates: new Map(stateColumns.map(([name], i) => [name, String(userRow[`consequence${i}`])])),
  };
}

/** Whether a SKU of the snapshot still delivers its plans (some subscription of it neither Deleted nor LockedOut). */
export const snapshotDelivers = (snapshot: Pick<UserLicensingSnapshot, "holdings">) => (skuId: string) =>
  (snapshot.holdings.get(skuId)?.deliveringSubscriptions ?? 0) > 0;

/**
 * The write half of a user's licensing change, as batch items, with the audit rows of what it moves elsewhere (for the
 * change's own audit statement) and the consequences' states after it. Guarded twice: on the user's licenseVersion
 * (nobody changed this user since the read, nor the state the consequences decided on) and on each pool taking a new
 * seat (`consumed < enabled` at write time), so seats are never over-allocated whatever runs concurrently. A failed
 * guard aborts the whole batch.
 */
export function userLicensingWrites(
  ctx: Ctx,
  snapshot: UserLicensingSnapshot,
  result: ReconcileResult,
  lifecycle: { deletedBefore: boolean; deletedAfter: boolean } = { deletedBefore: false, deletedAfter: false },
): {
  statements: D1PreparedStatement[];
  audits: BulkAuditRow[];
  consequenceStates: ReadonlyMap<string, string> | undefined;
} {
  const { user } = snapshot;
  const { d1, tenantId } = ctx;
  // What other capabilities write when these licenses move (a mailbox's countdown, say), in this same batch.
  const delivers = snapshotDelivers(snapshot);
  const consequences = singleUserConsequences(
    ctx,
    {
      userSeq: user.seq,
      before: deliveredLicenses(snapshot.held, delivers),
      after: deliveredLicenses(result.licenses, delivers),
      ...lifecycle,
    },
    snapshot.consequenceStates,
    user,
    (skuId) => snapshot.skus.get(skuId)?.servicePlans,
  );
  const statements = [
    // Nobody changed this user, their sources, nor the tenant's subscriptions, rules or catalogue since the read, nor
    // what the consequences decided on.
    d1
      .prepare(
        `UPDATE users SET license_version = ${guardedValue(
          `license_version = ?3 AND deleted_at IS NULL AND (SELECT licensing_version FROM tenants WHERE id = ?1) = ?4
           AND ${sourcesFingerprintSql("users.seq")} = ?5${consequences.guards.map((g, i) => ` AND ${g.sql} IS ?${6 + i}`).join("")}`,
          "license_version + 1",
        )} WHERE tenant_id = ?1 AND id = ?2`,
      )
      .bind(
        tenantId,
        user.id,
        user.licenseVersion,
        snapshot.licensingVersion,
        snapshot.sourcesFingerprint,
        ...consequences.guards.map((g) => g.state),
      ),
  ];
  const moves = [...result.seatsTaken.map((sku) => [sku, 1]), ...result.seatsFreed.map((sku) => [sku, -1])];
  if (moves.length > 0) {
    // A seat is taken only where one is free at write time; freeing always succeeds.
    statements.push(
      d1
        .prepare(
          `WITH m AS (SELECT value ->> 0 AS sku, value ->> 1 AS d FROM json_each(?2))
           UPDATE seat_pools SET consumed_units = (
             SELECT ${guardedValue("m.d < 0 OR seat_pools.consumed_units < seat_pools.enabled_units", "seat_pools.consumed_units + m.d")}
             FROM m WHERE m.sku = seat_pools.sku_id)
           WHERE tenant_id = ?1 AND sku_id IN (SELECT sku FROM m)`,
        )
        .bind(tenantId, JSON.stringify(moves)),
    );
  }
  statements.push(
    ...licensingRowWrites(ctx, [{ userSeq: user.seq, sources: snapshot.sources, held: snapshot.held, result }]),
    ...consequences.statements,
  );
  return { statements, audits: consequences.audits, consequenceStates: consequences.statesAfter };
}

/** Rows keyed by user seq, their other columns stored once per distinct set of values. */
class DistinctRows {
  private readonly rows: [number, number][] = [];
  private readonly values = new Distinct();
  get size() {
    return this.rows.length;
  }
  add(userSeq: number, columns: readonly string[]) {
    this.rows.push([userSeq, this.values.numberOf(JSON.stringify(columns))]);
  }
  /** The two JSON parameters: the rows, then the distinct values (JSON arrays, in number order). */
  params(): [string, string] {
    return [JSON.stringify(this.rows), `[${this.values.values().join(",")}]`];
  }
}

export type UserChange = {
  userSeq: number;
  /** What is stored now (as read, and guarded to be still true when the batch runs). */
  sources: readonly SourceRow[];
  held: ReadonlyMap<string, HeldLicense>;
  result: ReconcileResult;
};

// Order counts: the list is stored as JSON text, so a reordering is a change.
const sameInOrder = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether a source row would be stored unchanged (compared field by field: this runs for every member of a page). */
const sameSourceRow = (a: SourceRow, b: SourceRow) =>
  a.state === b.state &&
  a.error === b.error &&
  a.lastUpdatedAt === b.lastUpdatedAt &&
  sameInOrder(a.disabledPlans, b.disabledPlans);

/**
 * The row writes for any number of users' licensing changes, set-based: only rows that changed are deleted or
 * written, each found by its key (a CROSS JOIN from the change list, so one index probe per row, never a scan).
 */
export function licensingRowWrites(ctx: Ctx, changes: readonly UserChange[]): D1PreparedStatement[] {
  const { d1, tenantId } = ctx;
  const goneSources: [number, string, string][] = [];
  const goneLicenses: [number, string][] = [];
  // New rows travel as [userId, index of their other columns in a list of distinct values]: a page of a group job
  // writes the same source and license to most of its members.
  const newSources = new DistinctRows();
  const newLicenses = new DistinctRows();
  for (const { userSeq, sources, held, result } of changes) {
    for (const s of sources) {
      if (!result.sources.some((r) => r.skuId === s.skuId && r.sourceId === s.sourceId)) {
        goneSources.push([userSeq, s.skuId, s.sourceId]);
      }
    }
    for (const s of result.sources) {
      const before = sources.find((b) => b.skuId === s.skuId && b.sourceId === s.sourceId);
      if (!before || !sameSourceRow(before, s)) {
        newSources.add(userSeq, [
          s.skuId,
          s.sourceId,
          JSON.stringify(s.disabledPlans),
          s.state,
          s.error,
          s.lastUpdatedAt,
        ]);
      }
    }
    for (const sku of held.keys()) if (!result.licenses.has(sku)) goneLicenses.push([userSeq, sku]);
    for (const [skuId, l] of result.licenses) {
      const before = held.get(skuId);
      if (!before || before.assignedAt !== l.assignedAt || !sameInOrder(before.disabledPlans, l.disabledPlans)) {
        newLicenses.add(userSeq, [skuId, JSON.stringify(l.disabledPlans), l.assignedAt]);
      }
    }
  }
  const statements: D1PreparedStatement[] = [];
  if (goneSources.length > 0) {
    statements.push(
      d1
        .prepare(
          `DELETE FROM license_sources WHERE (user_seq, pool_seq, source_seq) IN (
             SELECT value ->> 0, ${poolSeqOf("?1", "value ->> 1")}, ${sourceSeqOf("?1", "value ->> 2")} FROM json_each(?2))`,
        )
        .bind(tenantId, JSON.stringify(goneSources)),
    );
  }
  if (newSources.size > 0) {
    statements.push(
      d1
        .prepare(
          `WITH v AS MATERIALIZED (SELECT key AS k, ${poolSeqOf("?1", "value ->> 0")} AS pool,
             ${sourceSeqOf("?1", "value ->> 1")} AS source, value ->> 2 AS disabled,
             value ->> 3 AS state, value ->> 4 AS error, value ->> 5 AS at FROM json_each(?3))
           INSERT OR REPLACE INTO license_sources (user_seq, pool_seq, source_seq, disabled_plans, state, error, last_updated_at)
           SELECT r.value ->> 0, v.pool, v.source, v.disabled, v.state, v.error, v.at
           FROM json_each(?2) AS r JOIN v ON v.k = r.value ->> 1`,
        )
        .bind(tenantId, ...newSources.params()),
    );
  }
  if (goneLicenses.length > 0) {
    statements.push(
      d1
        .prepare(
          `DELETE FROM user_licenses
           WHERE (user_seq, pool_seq) IN (SELECT value ->> 0, ${poolSeqOf("?1", "value ->> 1")} FROM json_each(?2))`,
        )
        .bind(tenantId, JSON.stringify(goneLicenses)),
    );
  }
  if (newLicenses.size > 0) {
    statements.push(
      d1
        .prepare(
          `WITH v AS MATERIALIZED (SELECT key AS k, ${poolSeqOf("?1", "value ->> 0")} AS pool, value ->> 1 AS disabled,
             value ->> 2 AS at FROM json_each(?3))
           INSERT OR REPLACE INTO user_licenses (user_seq, pool_seq, disabled_plans, assigned_at)
           SELECT r.value ->> 0, v.pool, v.disabled, v.at FROM json_each(?2) AS r JOIN v ON v.k = r.value ->> 1`,
        )
        .bind(tenantId, ...newLicenses.params()),
    );
  }
  return statements;
}

// ---- the reads behind the licensing views -------------------------------------------------------------------

export type UserLicensingView = {
  licenses: { skuId: string; disabledPlans: string[]; assignedAt: string }[];
  sources: {
    skuId: string;
    sourceId: string;
    disabledPlans: string[];
    state: string;
    error: string;
    lastUpdatedAt: string;
  }[];
};

export const usersById = (userIds: string[]): UserSelector => ({
  sql: "SELECT seq FROM users WHERE tenant_id = ?1 AND id IN (SELECT value FROM json_each(?2))",
  params: [JSON.stringify(userIds)],
});

/** The statements that read the selected users' licenses, sources and (if asked) their SKUs' plans. */
export function licensingViewStatements(d1: D1Database, tenantId: string, users: UserSelector, withPlans: boolean) {
  const bind = (sql: string) => d1.prepare(sql).bind(tenantId, ...users.params);
  return [
    bind(
      `SELECT u.id AS userId, p.sku_id AS skuId, ul.disabled_plans AS disabledPlans, ul.assigned_at AS assignedAt
       FROM user_licenses ul JOIN users u ON u.seq = ul.user_seq JOIN seat_pools p ON p.seq = ul.pool_seq
       WHERE ul.user_seq IN (${users.sql}) ORDER BY ul.user_seq, ul.assigned_at, skuId`,
    ),
    bind(
      `SELECT u.id AS userId, p.sku_id AS skuId, ${sourceOfSeq("ls.source_seq")} AS sourceId, ls.disabled_plans AS disabledPlans,
         ls.state, ls.error, ls.last_updated_at AS lastUpdatedAt
       FROM license_sources ls JOIN users u ON u.seq = ls.user_seq JOIN seat_pools p ON p.seq = ls.pool_seq
       WHERE ls.user_seq IN (${users.sql}) ORDER BY ls.user_seq, skuId, sourceId`,
    ),
    ...(withPlans
      ? [
          bind(
            skuPlansSql(
              `SELECT p.sku_id FROM user_licenses ul JOIN seat_pools p ON p.seq = ul.pool_seq WHERE ul.user_seq IN (${users.sql})`,
            ),
          ),
        ]
      : []),
  ];
}

/** Turns the results of licensingViewStatements into one view per user. */
export function licensingViews(userIds: string[], results: D1Result<Record<string, unknown>>[]) {
  const [licenses, sources, plans] = results as D1Result<Record<string, string>>[];
  const views = new Map<string, UserLicensingView>(userIds.map((id) => [id, { licenses: [], sources: [] }]));
  for (const r of licenses?.results ?? []) {
    views
      .get(r.userId!)
      ?.licenses.push({ skuId: r.skuId!, disabledPlans: JSON.parse(r.disabledPlans!), assignedAt: r.assignedAt! });
  }
  for (const r of sources?.results ?? []) {
    views.get(r.userId!)?.sources.push({
      skuId: r.skuId!,
      sourceId: r.sourceId!,
      disabledPlans: JSON.parse(r.disabledPlans!),
      state: r.state!,
      error: r.error!,
      lastUpdatedAt: r.lastUpdatedAt!,
    });
  }
  return { views, skus: toSkuPlans((plans?.results ?? []) as unknown as SkuPlanRow[]) };
}

/** Reads the licensing of a page of users in one round trip. */
export async function loadLicensingViews(
  d1: D1Database,
  tenantId: string,
  userIds: string[],
  withPlans: boolean,
): Promise<{ views: Map<string, UserLicensingView>; skus: Map<string, SkuPlans> }> {
  if (userIds.length === 0) return { views: new Map(), skus: new Map() };
  const results = await d1.batch<Record<string, unknown>>(
    licensingViewStatements(d1, tenantId, usersById(userIds), withPlans),
  );
  return licensingViews(userIds, results);
}

// ---- group licenses -------------------------------------------------------------------------------------------

export type GroupLicense = { skuId: string; disabledPlans: string[]; assignedAt: string };

export async function loadGroupLicenses(d1: D1Database, tenantId: string, groupIds: string[]) {
  const out = new Map<string, GroupLicense[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return out;
  const { results } = await d1
    .prepare(
      `SELECT group_id AS groupId, sku_id AS skuId, disabled_plans AS disabledPlans, assigned_at AS assignedAt FROM group_licenses
       WHERE tenant_id = ?1 AND group_id IN (SELECT value FROM json_each(?2)) ORDER BY assigned_at, sku_id`,
    )
    .bind(tenantId, JSON.stringify(groupIds))
    .all<Record<string, string>>();
  for (const r of results) {
    out
      .get(r.groupId!)
      ?.push({ skuId: r.skuId!, disabledPlans: JSON.parse(r.disabledPlans!), assignedAt: r.assignedAt! });
  }
  return out;
}

/** Subscription counts per SKU as read (company-owned and self-service, deleted ones left out). */
const toHoldings = (rows: readonly Record<string, unknown>[]): Map<string, SkuHolding> =>
  new Map(
    rows.map((r) => [
      String(r.skuId),
      {
        companySubscriptions: Number(r.companySubscriptions),
        selfServiceSubscriptions: Number(r.selfServiceSubscriptions),
        deliveringSubscriptions: Number(r.deliveringSubscriptions),
      },
    ]),
  );

/** What the tenant holds of these SKUs (company and self-service subscriptions) and their catalogue entries. */
export async function readHoldings(ctx: Ctx, skuIds: readonly string[]) {
  const ids = JSON.stringify(skuIds);
  const [holdings, skus] = await ctx.d1.batch<Record<string, unknown>>([
    ctx.d1
      .prepare(
        `SELECT sku_id AS skuId, ${holdingColumns}
         FROM subscriptions WHERE tenant_id = ?1 AND sku_id IN (SELECT value FROM json_each(?2)) GROUP BY sku_id`,
      )
      .bind(ctx.tenantId, ids),
    ctx.d1.prepare(skuPlansSql("SELECT value FROM json_each(?1)")).bind(ids),
  ]);
  return {
    holdings: toHoldings(holdings?.results ?? []),
    skus: toSkuPlans((skus?.results ?? []) as SkuPlanRow[]),
  };
}

/** Replaces the group's licenses for these SKUs (removed ones deleted, added ones set with their disabled plans). */
export function setGroupLicensesStatements(
  ctx: Ctx,
  groupId: string,
  change: { addLicenses: { skuId: string; disabledPlans: string[] }[]; removeLicenses: string[] },
): D1PreparedStatement[] {
  return [
    ctx.d1
      .prepare(
        "DELETE FROM group_licenses WHERE tenant_id = ?1 AND group_id = ?2 AND sku_id IN (SELECT value FROM json_each(?3))",
      )
      .bind(ctx.tenantId, groupId, JSON.stringify(change.removeLicenses)),
    ctx.d1
      .prepare(
        `INSERT INTO group_licenses (tenant_id, group_id, sku_id, disabled_plans, assigned_at)
         SELECT ?1, ?2, value ->> '$.skuId', json(value -> '$.disabledPlans'), ?3 FROM json_each(?4) WHERE true
         ON CONFLICT (group_id, sku_id) DO UPDATE SET disabled_plans = excluded.disabled_plans`,
      )
      .bind(ctx.tenantId, groupId, ctx.now.toISOString(), JSON.stringify(change.addLicenses)),
  ];
}

export type LicenseProcessingState = "QueuedForProcessing" | "ProcessingInProgress" | "ProcessingComplete";

/** The group's licenseProcessingState, queued for a new job (which its state then follows). */
export const queueGroupProcessingStatement = (ctx: Ctx, groupId: string, jobId: string) =>
  ctx.d1
    .prepare(
      `UPDATE groups SET license_processing_state = 'QueuedForProcessing', license_job_id = ?3, updated_at = ?4
       WHERE tenant_id = ?1 AND id = ?2`,
    )
    .bind(ctx.tenantId, groupId, jobId, ctx.now.toISOString());

/** The group's licenseProcessingState as its current job moves (a superseded job no longer reports). */
export const groupProcessingStatement = (ctx: Ctx, groupId: string, jobId: string, state: LicenseProcessingState) =>
  ctx.d1
    .prepare("UPDATE groups SET license_processing_state = ?3 WHERE id = ?1 AND license_job_id = ?2")
    .bind(groupId, jobId, state);

/** A page of the users holding a SKU, in seq order after `after` (user_licenses_pool): for a job over its holders. */
export const poolHoldersSelector = (skuId: string, after: number, limit: number) => ({
  sql: `SELECT user_seq AS seq FROM user_licenses WHERE pool_seq = ${poolSeqOf("?1", "?2")} AND user_seq > ?3
        ORDER BY user_seq LIMIT ?4`,
  params: [skuId, after, limit],
});

/** The users holding a group's license in an error state (membersWithLicenseErrors). */
export const membersWithLicenseErrors = (groupSeq: number): UserSelector => ({
  sql: "SELECT user_seq FROM license_sources WHERE source_seq = ?2 AND state = 'Error'",
  params: [groupSeq],
});

/**
 * One user's licenses and sources as two JSON columns (`licensesJson`, `sourcesJson`) of the statement that reads the
 * user: a user read is then one statement, not three (each statement of a local D1 batch costs about what a whole
 * one-statement read does). Ordered as licensingViewStatements orders them; licensingViewOf parses them.
 */
const licensingViewColumns = (userSeq: string) =>
  `(SELECT json_group_array(json_array(p.sku_id, json(ul.disabled_plans), ul.assigned_at) ORDER BY ul.assigned_at, p.sku_id)
      FROM user_licenses ul JOIN seat_pools p ON p.seq = ul.pool_seq WHERE ul.user_seq = ${userSeq}) AS licensesJson,
    (SELECT json_group_array(json_array(p.sku_id, ${sourceOfSeq("ls.source_seq")}, json(ls.disabled_plans), ls.state,
        ls.error, ls.last_updated_at) ORDER BY p.sku_id, ${sourceOfSeq("ls.source_seq")})
      FROM license_sources ls JOIN seat_pools p ON p.seq = ls.pool_seq WHERE ls.user_seq = ${userSeq}) AS sourcesJson`;

function licensingViewOf(row: Record<string, unknown>): UserLicensingView {
  const licenses = JSON.parse(String(row.licensesJson ?? "[]")) as [string, string[], string][];
  const sources = JSON.parse(String(row.sourcesJson ?? "[]")) as [string, string, string[], string, string, string][];
  return {
    licenses: licenses.map(([skuId, disabledPlans, assignedAt]) => ({ skuId, disabledPlans, assignedAt })),
    sources: sources.map(([skuId, sourceId, disabledPlans, state, error, lastUpdatedAt]) => ({
      skuId,
      sourceId,
      disabledPlans,
      state,
      error,
      lastUpdatedAt,
    })),
  };
}

/**
 * One live user by id or userPrincipalName and, when asked, their licensing views: one statement, plus one for the
 * plans when they are asked for.
 */
export async function readUserWithLicensing(ctx: Ctx, ref: string, licensing: { withPlans: boolean } | null) {
  if (!licensing) {
    const raw = await userByRefQuery(ctx.d1, ctx.tenantId, ref).first<Record<string, unknown>>();
    return raw ? { user: toUserRow(raw), licensing: undefined } : undefined;
  }
  const userStatement = ctx.d1
    .prepare(
      `SELECT ${userColumns}, ${licensingViewColumns("u.seq")} FROM users u
       WHERE u.tenant_id = ?1 AND u.deleted_at IS NULL AND ${isGuid(ref) ? "u.id" : "u.user_principal_name"} = ?2`,
    )
    .bind(ctx.tenantId, ref.toLowerCase());
  const plansStatement = () =>
    ctx.d1
      .prepare(
        skuPlansSql(
          `SELECT p.sku_id FROM user_licenses ul JOIN seat_pools p ON p.seq = ul.pool_seq WHERE ul.user_seq IN (${userSeqByRefSql(ref)})`,
        ),
      )
      .bind(ctx.tenantId, ref.toLowerCase());
  const [userResult, plansResult] = licensing.withPlans
    ? await ctx.d1.batch<Record<string, unknown>>([userStatement, plansStatement()])
    : [await userStatement.all<Record<string, unknown>>()];
  const raw = userResult?.results[0];
  if (!raw) return undefined;
  const user = toUserRow(raw);
  const views = new Map([[user.id, licensingViewOf(raw)]]);
  return { user, licensing: { views, skus: toSkuPlans((plansResult?.results ?? []) as unknown as SkuPlanRow[]) } };
}
