/** Users and group memberships as stored: the directory's reads and write builders. */
import { BULK_QUERY_FIRST_PARAM, bulkAuditFromQuery, memberChangeStatements } from "../audit/store.ts";
import type { Ctx } from "../core/context.ts";
import { isGuid } from "../core/ids.ts";
import type { CompiledFilter, SortOrder } from "../core/odata.ts";
import type { SearchPlan } from "../core/odata-search.ts";
import { guardSql, keysetSql, type SortColumn, searchSql } from "../core/sql.ts";
import { keyOf, userFields, type WritableUserField, writableUserFields } from "./user-fields.ts";

/** A user as stored (snake_case columns aliased to the domain's names). */
export type UserRow = {
  /** The user's compact key in the per-member tables (users.seq); never shown by the API. */
  seq: number;
  id: string;
  tenantId: string;
  userPrincipalName: string;
  displayName: string;
  mailNickname: string | null;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  usageLocation: string | null;
  userType: "Member" | "Guest";
  accountEnabled: boolean;
  department: string | null;
  country: string | null;
  jobTitle: string | null;
  companyName: string | null;
  employeeId: string | null;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
  licenseVersion: number;
};

const stored = userFields.filter((f): f is Extract<(typeof userFields)[number], { column: string }> => "column" in f);
const alias = (column: string, key: string) => (column === key ? `u.${column}` : `u.${column} AS ${key}`);

/** Every column of a user, aliased to its UserRow key: the storage-only ones, then the Graph properties'. */
const userColumnList = [
  "u.seq",
  "u.tenant_id AS tenantId",
  ...stored.map((f) => alias(f.column, keyOf(f))),
  "u.updated_at AS updatedAt",
  "u.license_version AS licenseVersion",
];
export const userColumns = userColumnList.join(", ");

/** The name a userColumns entry is read as. */
export const aliasOf = (column: string) =>
  column.includes(" AS ") ? column.split(" AS ")[1]! : column.slice("u.".length);

/** The userColumns entries for these UserRow keys (a page evaluating a membership rule reads what the rule reads). */
export const userColumnsFor = (keys: Iterable<string>): string[] => {
  const wanted = new Set(keys);
  return userColumnList.filter((c) => wanted.has(aliasOf(c)));
};

/** SQLite hands booleans back as 0/1. */
export const toUserRow = (raw: Record<string, unknown>): UserRow => ({
  ...(raw as UserRow),
  accountEnabled: raw.accountEnabled === 1 || raw.accountEnabled === true,
});

/** SQL for the seq of a live user addressed by id or userPrincipalName (case-insensitive), as in Graph: ?1 tenant, ?2 ref. */
export const userSeqByRefSql = (ref: string) =>
  `SELECT seq FROM users WHERE tenant_id = ?1 AND deleted_at IS NULL AND ${isGuid(ref) ? "id" : "user_principal_name"} = ?2`;

/** Users are addressed by id or userPrincipalName (case-insensitive), as in Graph. */
export function userByRefQuery(d1: D1Database, tenantId: string, ref: string): D1PreparedStatement {
  return d1
    .prepare(
      `SELECT ${userColumns} FROM users u WHERE u.tenant_id = ?1 AND u.deleted_at IS NULL AND ${isGuid(ref) ? "u.id = ?2" : "u.user_principal_name = ?2"}`,
    )
    .bind(tenantId, ref.toLowerCase());
}

export async function findUser(d1: D1Database, tenantId: string, ref: string): Promise<UserRow | undefined> {
  const row = await userByRefQuery(d1, tenantId, ref).first<Record<string, unknown>>();
  return row ? toUserRow(row) : undefined;
}

/** The users with these ids (those of the tenant, alive, in no particular order). */
export async function findUsers(d1: D1Database, tenantId: string, ids: readonly string[]): Promise<UserRow[]> {
  const { results } = await d1
    .prepare(
      `SELECT ${userColumns} FROM json_each(?2) AS j CROSS JOIN users u ON u.id = j.value
       WHERE u.tenant_id = ?1 AND u.deleted_at IS NULL`,
    )
    .bind(tenantId, JSON.stringify(ids))
    .all<Record<string, unknown>>();
  return results.map(toUserRow);
}

const toDb = (value: unknown) => (typeof value === "boolean" ? (value ? 1 : 0) : (value ?? null));

export function insertUserStatement(d1: D1Database, user: UserRow): D1PreparedStatement {
  const columns = ["id", "tenant_id", ...writableUserFields.map((f) => f.column), "created_at", "updated_at"];
  const values = [
    user.id,
    user.tenantId,
    ...writableUserFields.map((f) => toDb(user[keyOf(f) as keyof UserRow])),
    user.createdAt,
    user.updatedAt,
  ];
  return d1
    .prepare(
      `INSERT INTO users (${columns.join(", ")}) VALUES (${columns.map((_, i) => `?${i + 1}`).join(", ")}) RETURNING seq`,
    )
    .bind(...values);
}

const columnOf = new Map<string, string>(writableUserFields.map((f) => [f.graph, f.column]));

/**
 * Updates the given fields and bumps licenseVersion: licensing reads the user's attributes (usage location, type),
 * so a licensing write decided on the old ones must fail its guard and decide again.
 */
export function updateUserStatement(
  d1: D1Database,
  user: Pick<UserRow, "tenantId" | "id">,
  changes: Partial<Record<WritableUserField, unknown>>,
  now: string,
): D1PreparedStatement {
  const fields = Object.keys(changes) as WritableUserField[];
  const sets = fields.map((f, i) => `${columnOf.get(f)} = ?${i + 4}`);
  return d1
    .prepare(
      `UPDATE users SET updated_at = ?3, license_version = license_version + 1${sets.length ? `, ${sets.join(", ")}` : ""} WHERE tenant_id = ?1 AND id = ?2 AND deleted_at IS NULL`,
    )
    .bind(user.tenantId, user.id, now, ...fields.map((f) => toDb(changes[f])));
}

/** A user holds a direct license while a direct source of theirs is not in error (source 0: licensing/rules.ts). */
const HOLDS_DIRECT_LICENSE =
  "EXISTS (SELECT 1 FROM license_sources WHERE user_seq = ?1 AND source_seq = 0 AND state <> 'Error')";

export async function holdsDirectLicense(d1: D1Database, user: Pick<UserRow, "seq">): Promise<boolean> {
  return (
    (await d1.prepare(`SELECT ${HOLDS_DIRECT_LICENSE} AS held`).bind(user.seq).first<{ held: number }>())?.held === 1
  );
}

/** Aborts the batch if the user holds a direct license by the time it runs (clearing usageLocation must not race one). */
export const noDirectLicenseGuard = (d1: D1Database, user: Pick<UserRow, "seq">): D1PreparedStatement =>
  d1.prepare(guardSql(`NOT ${HOLDS_DIRECT_LICENSE}`)).bind(user.seq);

/** What a restore from the recycle bin brings back: the direct licenses held, and the static groups' ids. */
export type RestoreState = { direct: { skuId: string; disabledPlans: string[] }[]; groups: string[] };

/** A static group: its members are set by hand (a dynamic group's follow its rule, and a restore re-evaluates them). */
const staticGroup = (g: string) => `${g}.deleted_at IS NULL AND ${g}.group_types NOT LIKE '%DynamicMembership%'`;

/**
 * Marks the user deleted (soft delete), keeping what a restore needs (their direct licenses, given, and their static
 * groups, read here before the memberships go), and drops their group memberships.
 */
export const deleteUserStatements = (
  ctx: Ctx,
  user: Pick<UserRow, "id" | "seq">,
  direct: RestoreState["direct"],
): D1PreparedStatement[] => [
  ctx.d1
    .prepare(
      `UPDATE users SET deleted_at = ?1, updated_at = ?1, restore_state = json_object('direct', json(?4),
         'groups', (SELECT json_group_array(g.id) FROM group_members gm JOIN groups g ON g.seq = gm.group_seq
                    WHERE gm.user_seq = users.seq AND ${staticGroup("g")}))
       WHERE tenant_id = ?2 AND id = ?3`,
    )
    .bind(ctx.now.toISOString(), ctx.tenantId, user.id, JSON.stringify(direct)),
  ctx.d1.prepare("DELETE FROM group_members WHERE user_seq = ?1").bind(user.seq),
];

// ---- the recycle bin -----------------------------------------------------------------------------------------------

/** A user in the recycle bin: deleted, not yet deleted permanently. */
const inRecycleBin = "u.deleted_at IS NOT NULL AND u.hard_deleted_at IS NULL";

export async function findDeletedUser(ctx: Pick<Ctx, "d1" | "tenantId">, id: string) {
  const row = await ctx.d1
    .prepare(
      `SELECT ${userColumns}, u.restore_state AS restoreState FROM users u
       WHERE u.tenant_id = ?1 AND u.id = ?2 AND ${inRecycleBin}`,
    )
    .bind(ctx.tenantId, id.toLowerCase())
    .first<Record<string, unknown>>();
  if (!row) return undefined;
  const state = row.restoreState ? (JSON.parse(String(row.restoreState)) as RestoreState) : { direct: [], groups: [] };
  return { user: toUserRow(row), restoreState: state };
}

/** A page of the recycle bin in id order (top + 1 rows). */
export async function listDeletedUsers(ctx: Pick<Ctx, "d1" | "tenantId">, top: number, after: string | undefined) {
  const { results } = await ctx.d1
    .prepare(
      // The bin is small beside the tenant: walked on its partial index and sorted, not found among all users by id.
      `SELECT ${userColumns} FROM users u INDEXED BY users_tenant_deleted
       WHERE u.tenant_id = ?1 AND ${inRecycleBin}${after !== undefined ? " AND u.id > ?3" : ""}
       ORDER BY u.id LIMIT ?2`,
    )
    .bind(ctx.tenantId, top + 1, ...(after !== undefined ? [after] : []))
    .all<Record<string, unknown>>();
  return results.map(toUserRow);
}

/**
 * Brings a deleted user back (first in a restore's batch, before the licensing guard looks at the user): live again,
 * under a new userPrincipalName if one is given, and a member of the static groups they were in that still exist.
 * The licenses come back through licensing, in the same batch.
 */
export const restoreUserStatements = (
  ctx: Ctx,
  user: Pick<UserRow, "id" | "seq">,
  state: RestoreState,
  newUserPrincipalName: string | null,
): D1PreparedStatement[] => [
  ctx.d1
    .prepare(
      `UPDATE users SET deleted_at = NULL, restore_state = NULL, updated_at = ?3,
         user_principal_name = coalesce(?4, user_principal_name)
       WHERE tenant_id = ?1 AND id = ?2 AND deleted_at IS NOT NULL AND hard_deleted_at IS NULL`,
    )
    .bind(ctx.tenantId, user.id, ctx.now.toISOString(), newUserPrincipalName),
  ctx.d1.prepare(guardSql("changes() = 1")),
  ctx.d1
    .prepare(
      `INSERT INTO group_members (group_seq, user_seq, added_at)
       SELECT g.seq, ?2, ?3 FROM json_each(?4) AS j CROSS JOIN groups g ON g.id = j.value
       WHERE g.tenant_id = ?1 AND ${staticGroup("g")} ON CONFLICT DO NOTHING`,
    )
    .bind(ctx.tenantId, user.seq, ctx.now.toISOString(), JSON.stringify(state.groups)),
];

/**
 * Deletes users of the recycle bin permanently, with one bulk "Hard Delete user" audit row: the listed seqs that are
 * still deleted and were deleted at or before `deletedBy` (the API passes the time of the change, the daily run its
 * cutoff). The row stays as a tombstone; its userPrincipalName is free again (the unique index tells it apart by seq).
 */
export function hardDeleteUsersStatements(ctx: Ctx, seqs: readonly number[], deletedBy: string): D1PreparedStatement[] {
  const p = BULK_QUERY_FIRST_PARAM;
  const list = JSON.stringify(seqs);
  const due = (listParam: string, cutoffParam: string) =>
    `SELECT u.seq, u.id, u.display_name, u.user_principal_name FROM json_each(${listParam}) AS j
     CROSS JOIN users u ON u.seq = j.value
     WHERE u.tenant_id = ?1 AND ${inRecycleBin} AND u.deleted_at <= ${cutoffParam}`;
  return [
    bulkAuditFromQuery(
      ctx,
      {
        activity: "Hard Delete user",
        category: "UserManagement",
        operationType: "Delete",
        sharedTargets: [],
        property: "DeletedPermanently",
      },
      ["false", "true"],
      {
        from: `SELECT id AS userId, display_name AS displayName, user_principal_name AS userPrincipalName, 0 AS oldValue,
                 1 AS newValue FROM (${due(`?${p}`, `?${p + 1}`)})`,
        params: [list, deletedBy],
      },
    ),
    ctx.d1
      .prepare(
        `UPDATE users SET hard_deleted_at = ?2, restore_state = NULL, updated_at = ?2
         WHERE seq IN (SELECT seq FROM (${due("?3", "?4")}))`,
      )
      .bind(ctx.tenantId, ctx.now.toISOString(), list, deletedBy),
  ];
}

// ---- listing -------------------------------------------------------------------------------------------------

/** Which users a listing reads: SQL yielding their seqs, with ?1 the tenant and its own parameters after. */
export type UserSelector = { sql: string; params: unknown[] };

/** The orders users are listed in besides their id (Graph's default-sortable properties of a user). */
export const userSortable = ["displayName", "userPrincipalName"] as const;

/**
 * Each order's columns, as its index sorts them: displayName case-insensitively with the id breaking ties
 * (users_tenant_display_name), userPrincipalName alone (unique in a tenant, users_tenant_upn), the id by default
 * (users_tenant_id).
 */
const userOrderColumns: Record<(typeof userSortable)[number] | "id", SortColumn[]> = {
  displayName: [{ sql: "u.display_name", collate: "NOCASE" }, { sql: "u.id" }],
  userPrincipalName: [{ sql: "u.user_principal_name" }],
  id: [{ sql: "u.id" }],
};

/** A user's sort key in an order: the cursor its page's nextLink carries. */
export function userSortKey(order: SortOrder | undefined, user: UserRow): string[] {
  if (order?.property === "displayName") return [user.displayName, user.id];
  if (order?.property === "userPrincipalName") return [user.userPrincipalName];
  return [user.id];
}

export const userSortKeyArity = (order: SortOrder | undefined) =>
  userOrderColumns[(order?.property ?? "id") as keyof typeof userOrderColumns].length;

/** The column each searchable property reads (user-fields.ts says which are searchable, and how). */
const userSearchColumn = new Map(stored.map((f) => [f.graph as string, `u.${f.column}`]));

export type UserListQuery = {
  /** A compiled $filter over `users u`: a boolean SQL expression and its parameters. */
  filter?: CompiledFilter | undefined;
  /** A $search plan over userSearchable (user-fields.ts). */
  search?: SearchPlan | undefined;
  /** Only these users (a group's members, members with license errors). */
  within?: UserSelector | undefined;
  top: number;
  /** The sort order (one of userSortable); by id when absent. */
  order?: SortOrder | undefined;
  /** The keyset cursor: the last row's sort key in the order (userSortKey). */
  after?: readonly string[] | undefined;
  count?: boolean;
};

/** The WHERE of a listing or a count (tenant, live, selection, filter, search) and its parameters, ?1 the tenant. */
function userWhere(tenantId: string, query: Pick<UserListQuery, "filter" | "within" | "search">) {
  const params: unknown[] = [tenantId];
  let where = "u.tenant_id = ?1 AND u.deleted_at IS NULL";
  if (query.within) {
    // The selector numbers its own parameters from ?2.
    where += ` AND u.seq IN (${query.within.sql})`;
    params.push(...query.within.params);
  }
  if (query.filter) {
    where += ` AND (${query.filter.sql})`;
    params.push(...query.filter.params);
  }
  if (query.search) {
    const bind = (value: string) => {
      params.push(value);
      return "?";
    };
    where += ` AND (${searchSql(query.search, (p) => userSearchColumn.get(p)!, bind)})`;
  }
  return { where, params };
}

/** The SQL of a page of users in its order (top + 1 rows after the cursor) and its parameters. */
export const userPageSql = (tenantId: string, query: UserListQuery) => userPage(userWhere(tenantId, query), query);

/** The page's SQL over a WHERE already built (a listing that also counts builds it once for both). */
function userPage({ where, params }: { where: string; params: unknown[] }, query: UserListQuery) {
  const columns = userOrderColumns[(query.order?.property as keyof typeof userOrderColumns | undefined) ?? "id"];
  const keyset = keysetSql(columns, query.order?.descending ?? false, params.length + 2);
  const after = query.after !== undefined ? ` AND ${keyset.after}` : "";
  return {
    sql: `SELECT ${userColumns} FROM users u WHERE ${where}${after} ORDER BY ${keyset.orderBy} LIMIT ?${params.length + 1}`,
    params: [...params, query.top + 1, ...(query.after ?? [])],
  };
}

/** A page of live users in its order (top + 1 rows, so the caller knows whether there is more), and the count if asked. */
export async function listUsers(ctx: Pick<Ctx, "d1" | "tenantId">, query: UserListQuery) {
  const { where, params } = userWhere(ctx.tenantId, query);
  const pageSql = userPage({ where, params }, query);
  const page = ctx.d1.prepare(pageSql.sql).bind(...pageSql.params);
  const [rows, counted] = await ctx.d1.batch<Record<string, unknown>>(
    query.count ? [page, countUsersStatement(ctx, where, params)] : [page],
  );
  return {
    rows: (rows?.results ?? []).map(toUserRow),
    count: query.count ? Number(counted?.results[0]?.n ?? 0) : undefined,
  };
}

const countUsersStatement = (ctx: Pick<Ctx, "d1">, where: string, params: unknown[]) =>
  ctx.d1.prepare(`SELECT count(*) AS n FROM users u WHERE ${where}`).bind(...params);

/** How many live users match (GET /users/$count). */
export async function countUsers(ctx: Pick<Ctx, "d1" | "tenantId">, query: Pick<UserListQuery, "filter" | "search">) {
  const { where, params } = userWhere(ctx.tenantId, query);
  const row = await countUsersStatement(ctx, where, params).first<{ n: number }>();
  return Number(row?.n ?? 0);
}

// ---- membership --------------------------------------------------------------------------------------------

/** Adds users to a group by the group's id (a group created in the same batch has no seq known yet). */
export const insertMembersStatement = (ctx: Ctx, groupId: string, users: readonly Pick<UserRow, "seq">[]) =>
  ctx.d1
    .prepare(
      `INSERT INTO group_members (group_seq, user_seq, added_at)
       SELECT (SELECT seq FROM groups WHERE tenant_id = ?1 AND id = ?2), value, ?3 FROM json_each(?4)`,
    )
    .bind(ctx.tenantId, groupId, ctx.now.toISOString(), JSON.stringify(users.map((u) => u.seq)));

export async function isMember(d1: D1Database, groupSeq: number, userSeq: number): Promise<boolean> {
  const row = await d1
    .prepare("SELECT 1 AS x FROM group_members WHERE group_seq = ?1 AND user_seq = ?2")
    .bind(groupSeq, userSeq)
    .first();
  return row !== null;
}

export type MemberUser = { seq: number; id: string; displayName: string; userPrincipalName: string };

/**
 * Set-based membership changes of one group with their audit rows, by seq: a rule's page moves thousands of members,
 * the API one. Adding an existing member is a no-op here (a rule re-evaluated twice); the API refuses it earlier.
 */
export function membershipWrites(
  ctx: Ctx,
  group: { seq: number; id: string; displayName: string },
  adds: readonly MemberUser[],
  removes: readonly MemberUser[],
): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  if (adds.length) {
    statements.push(
      ctx.d1
        .prepare(
          `INSERT INTO group_members (group_seq, user_seq, added_at) SELECT ?1, value, ?2 FROM json_each(?3) WHERE true
           ON CONFLICT DO NOTHING`,
        )
        .bind(group.seq, ctx.now.toISOString(), JSON.stringify(adds.map((u) => u.seq))),
    );
  }
  if (removes.length) {
    statements.push(
      ctx.d1
        .prepare("DELETE FROM group_members WHERE group_seq = ?1 AND user_seq IN (SELECT value FROM json_each(?2))")
        .bind(group.seq, JSON.stringify(removes.map((u) => u.seq))),
    );
  }
  statements.push(
    ...memberChangeStatements(ctx, group, [
      ...adds.map((user) => ({ user, added: true })),
      ...removes.map((user) => ({ user, added: false })),
    ]),
  );
  return statements;
}

/** The seqs of the groups a user is a direct member of (for dynamic rules and licensing). */
export const memberOfSql = (userSeq: string) => `SELECT group_seq FROM group_members WHERE user_seq = ${userSeq}`;

/** The users with these ids and the seqs of the groups each is a direct member of (one read, for dynamic rules). */
export async function usersWithGroups(d1: D1Database, tenantId: string, ids: readonly string[]) {
  const { results } = await d1
    .prepare(
      `SELECT ${userColumns}, (SELECT json_group_array(group_seq) FROM group_members gm WHERE gm.user_seq = u.seq) AS groupSeqs
       FROM users u WHERE u.tenant_id = ?1 AND u.deleted_at IS NULL AND u.id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(tenantId, JSON.stringify(ids))
    .all<Record<string, unknown>>();
  return results.map((raw) => ({
    user: toUserRow(raw),
    groupSeqs: new Set(JSON.parse(String(raw.groupSeqs)) as number[]),
  }));
}

/** The direct members of a group, as a user selection. */
export const membersOf = (groupSeq: number): UserSelector => ({
  sql: "SELECT user_seq FROM group_members WHERE group_seq = ?2",
  params: [groupSeq],
});
