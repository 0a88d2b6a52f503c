/** Groups as stored: the directory's group reads and write builders. */
import type { Ctx } from "../core/context.ts";
import { isGuid } from "../core/ids.ts";
import type { CompiledFilter, SortOrder } from "../core/odata.ts";
import type { SearchPlan, SearchProperty } from "../core/odata-search.ts";
import { keysetSql, type SortColumn, searchSql } from "../core/sql.ts";
import { GROUP_MAIL_DOMAIN } from "./rules.ts";

export type GroupRow = {
  /** The group's compact key in group_members and license_sources (groups.seq); never shown by the API. */
  seq: number;
  id: string;
  tenantId: string;
  displayName: string;
  description: string | null;
  mailNickname: string | null;
  mailEnabled: boolean;
  securityEnabled: boolean;
  groupTypes: string[];
  membershipRule: string | null;
  membershipRuleProcessingState: string | null;
  licenseProcessingState: string | null;
  licenseJobId: string | null;
  ruleJobId: string | null;
  /** State of the latest dynamic-rule evaluation job, if any. */
  ruleJobState?: string | null;
  /** Whether the group hands out licenses (group-based licensing): a licensed group can't be deleted or take guests. */
  licensed?: boolean;
  createdAt: string;
  updatedAt: string;
};

export const groupColumns = `g.seq, g.id, g.tenant_id AS tenantId, g.display_name AS displayName, g.description, g.mail_nickname AS mailNickname,
  g.mail_enabled AS mailEnabled, g.security_enabled AS securityEnabled, g.group_types AS groupTypes, g.membership_rule AS membershipRule,
  g.membership_rule_processing_state AS membershipRuleProcessingState, g.license_processing_state AS licenseProcessingState,
  g.license_job_id AS licenseJobId, g.rule_job_id AS ruleJobId, g.created_at AS createdAt, g.updated_at AS updatedAt,
  (SELECT j.state FROM jobs j WHERE j.id = g.rule_job_id) AS ruleJobState,
  EXISTS (SELECT 1 FROM group_licenses gl WHERE gl.group_id = g.id) AS licensed`;

export const toGroupRow = (raw: Record<string, unknown>): GroupRow => ({
  ...(raw as GroupRow),
  mailEnabled: raw.mailEnabled === 1 || raw.mailEnabled === true,
  securityEnabled: raw.securityEnabled === 1 || raw.securityEnabled === true,
  licensed: raw.licensed === 1 || raw.licensed === true,
  groupTypes: JSON.parse(String(raw.groupTypes ?? "[]")) as string[],
});

export async function findGroup(d1: D1Database, tenantId: string, id: string): Promise<GroupRow | undefined> {
  if (!isGuid(id)) return undefined;
  const row = await d1
    .prepare(`SELECT ${groupColumns} FROM groups g WHERE g.tenant_id = ?1 AND g.id = ?2 AND g.deleted_at IS NULL`)
    .bind(tenantId, id.toLowerCase())
    .first<Record<string, unknown>>();
  return row ? toGroupRow(row) : undefined;
}

/** The tenant's dynamic groups whose rules are being processed. */
export async function activeDynamicGroups(d1: D1Database, tenantId: string): Promise<GroupRow[]> {
  const { results } = await d1
    .prepare(
      `SELECT ${groupColumns} FROM groups g WHERE g.tenant_id = ?1 AND g.deleted_at IS NULL
         AND g.membership_rule IS NOT NULL AND g.membership_rule_processing_state = 'On'`,
    )
    .bind(tenantId)
    .all<Record<string, unknown>>();
  return results.map(toGroupRow).filter((g) => g.groupTypes.includes("DynamicMembership"));
}

/** The orders groups are listed in besides their id (Graph's default-sortable property of a group). */
export const groupSortable = ["displayName"] as const;

/** Each order's columns as its index sorts them: displayName case-insensitively, ties by id (groups_tenant_display_name). */
const groupOrderColumns: Record<(typeof groupSortable)[number] | "id", SortColumn[]> = {
  displayName: [{ sql: "g.display_name", collate: "NOCASE" }, { sql: "g.id" }],
  id: [{ sql: "g.id" }],
};

/** A group's sort key in an order: the cursor its page's nextLink carries. */
export const groupSortKey = (order: SortOrder | undefined, group: GroupRow): string[] =>
  order?.property === "displayName" ? [group.displayName, group.id] : [group.id];

export const groupSortKeyArity = (order: SortOrder | undefined) =>
  groupOrderColumns[(order?.property ?? "id") as keyof typeof groupOrderColumns].length;

/**
 * What `$search` may name on a group, and the column each reads: displayName and description tokenized (Graph's
 * tokenized search "works only on the displayName and description fields"), the rest as startsWith. mail is what the
 * presenter shows (mailNickname@seatflow.local on a mail-enabled group).
 */
const groupSearchColumns: Record<string, { sql: string; match: SearchProperty["match"] }> = {
  displayName: { sql: "g.display_name", match: "words" },
  description: { sql: "g.description", match: "words" },
  mail: {
    sql: `(CASE WHEN g.mail_enabled = 1 AND g.mail_nickname IS NOT NULL THEN g.mail_nickname || '@${GROUP_MAIL_DOMAIN}' END)`,
    match: "prefix",
  },
  mailNickname: { sql: "g.mail_nickname", match: "prefix" },
  membershipRule: { sql: "g.membership_rule", match: "prefix" },
};
export const groupSearchable: readonly SearchProperty[] = Object.entries(groupSearchColumns).map(([name, c]) => ({
  name,
  match: c.match,
}));

export type GroupListQuery = {
  filter?: CompiledFilter | undefined;
  /** A $search plan over groupSearchable. */
  search?: SearchPlan | undefined;
  top: number;
  /** The sort order (one of groupSortable); by id when absent. */
  order?: SortOrder | undefined;
  /** The keyset cursor: the last row's sort key in the order (groupSortKey). */
  after?: readonly string[] | undefined;
  count?: boolean;
};

/** The WHERE of a listing or a count (tenant, live, filter, search) and its parameters, ?1 the tenant. */
function groupWhere(tenantId: string, query: Pick<GroupListQuery, "filter" | "search">) {
  const params: unknown[] = [tenantId, ...(query.filter?.params ?? [])];
  let where = `g.tenant_id = ?1 AND g.deleted_at IS NULL${query.filter ? ` AND (${query.filter.sql})` : ""}`;
  if (query.search) {
    const bind = (value: string) => {
      params.push(value);
      return "?";
    };
    where += ` AND (${searchSql(query.search, (p) => groupSearchColumns[p]!.sql, bind)})`;
  }
  return { where, params };
}

const countGroupsStatement = (ctx: Pick<Ctx, "d1">, where: string, params: unknown[]) =>
  ctx.d1.prepare(`SELECT count(*) AS n FROM groups g WHERE ${where}`).bind(...params);

/** The SQL of a page of groups in its order (top + 1 rows after the cursor) and its parameters. */
export const groupPageSql = (tenantId: string, query: GroupListQuery) => groupPage(groupWhere(tenantId, query), query);

/** The page's SQL over a WHERE already built (a listing that also counts builds it once for both). */
function groupPage({ where, params }: { where: string; params: unknown[] }, query: GroupListQuery) {
  const columns = groupOrderColumns[(query.order?.property as keyof typeof groupOrderColumns | undefined) ?? "id"];
  const keyset = keysetSql(columns, query.order?.descending ?? false, params.length + 2);
  const after = query.after !== undefined ? ` AND ${keyset.after}` : "";
  return {
    sql: `SELECT ${groupColumns} FROM groups g WHERE ${where}${after} ORDER BY ${keyset.orderBy} LIMIT ?${params.length + 1}`,
    params: [...params, query.top + 1, ...(query.after ?? [])],
  };
}

/** A page of live groups in its order (top + 1 rows), and the count if asked. */
export async function listGroups(ctx: Pick<Ctx, "d1" | "tenantId">, query: GroupListQuery) {
  const { where, params } = groupWhere(ctx.tenantId, query);
  const pageSql = groupPage({ where, params }, query);
  const [rows, counted] = await ctx.d1.batch<Record<string, unknown>>([
    ctx.d1.prepare(pageSql.sql).bind(...pageSql.params),
    ...(query.count ? [countGroupsStatement(ctx, where, params)] : []),
  ]);
  return {
    rows: (rows?.results ?? []).map(toGroupRow),
    count: query.count ? Number(counted?.results[0]?.n ?? 0) : undefined,
  };
}

/** How many live groups match (GET /groups/$count). */
export async function countGroups(ctx: Pick<Ctx, "d1" | "tenantId">, query: Pick<GroupListQuery, "filter" | "search">) {
  const { where, params } = groupWhere(ctx.tenantId, query);
  const row = await countGroupsStatement(ctx, where, params).first<{ n: number }>();
  return Number(row?.n ?? 0);
}

/** A page of the groups a user is a direct member of, in id order (top + 1 rows). */
export async function listMemberOf(
  d1: D1Database,
  userSeq: number,
  query: { top: number; after?: string | undefined },
) {
  const { results } = await d1
    .prepare(
      `SELECT ${groupColumns} FROM group_members gm JOIN groups g ON g.seq = gm.group_seq AND g.deleted_at IS NULL
       WHERE gm.user_seq = ?1 AND g.id > ?2 ORDER BY g.id LIMIT ?3`,
    )
    .bind(userSeq, query.after ?? "", query.top + 1)
    .all<Record<string, unknown>>();
  return results.map(toGroupRow);
}

/** The columns a create or an update writes, in that order: display_name … rule_job_id. */
const writableGroupValues = (group: GroupRow) => [
  group.displayName,
  group.description,
  group.mailNickname,
  group.mailEnabled ? 1 : 0,
  group.securityEnabled ? 1 : 0,
  JSON.stringify(group.groupTypes),
  group.membershipRule,
  group.membershipRuleProcessingState,
  group.ruleJobId,
];

export function insertGroupStatement(d1: D1Database, group: GroupRow): D1PreparedStatement {
  return d1
    .prepare(
      `INSERT INTO groups (id, tenant_id, display_name, description, mail_nickname, mail_enabled, security_enabled, group_types,
         membership_rule, membership_rule_processing_state, rule_job_id, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING seq`,
    )
    .bind(group.id, group.tenantId, ...writableGroupValues(group), group.createdAt, group.updatedAt);
}

export function updateGroupStatement(d1: D1Database, group: GroupRow): D1PreparedStatement {
  return d1
    .prepare(
      `UPDATE groups SET display_name = ?3, description = ?4, mail_nickname = ?5, mail_enabled = ?6, security_enabled = ?7,
         group_types = ?8, membership_rule = ?9, membership_rule_processing_state = ?10, rule_job_id = ?11, updated_at = ?12
       WHERE tenant_id = ?1 AND id = ?2`,
    )
    .bind(group.tenantId, group.id, ...writableGroupValues(group), group.updatedAt);
}

/** Soft-deletes the group and drops its memberships. */
export const deleteGroupStatements = (ctx: Ctx, group: Pick<GroupRow, "id" | "seq">): D1PreparedStatement[] => [
  ctx.d1
    .prepare("UPDATE groups SET deleted_at = ?3, updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2")
    .bind(ctx.tenantId, group.id, ctx.now.toISOString()),
  ctx.d1.prepare("DELETE FROM group_members WHERE group_seq = ?1").bind(group.seq),
];

export const removeMemberStatement = (d1: D1Database, groupSeq: number, userSeq: number) =>
  d1.prepare("DELETE FROM group_members WHERE group_seq = ?1 AND user_seq = ?2").bind(groupSeq, userSeq);

/** Whether the user holds a license source from the group (their licenses must be weighed again when they leave it). */
export async function hasSourceFrom(d1: D1Database, userSeq: number, groupSeq: number): Promise<boolean> {
  const row = await d1
    .prepare("SELECT 1 AS x FROM license_sources WHERE user_seq = ?1 AND source_seq = ?2 LIMIT 1")
    .bind(userSeq, groupSeq)
    .first();
  return row !== null;
}

/** How many guests are direct members of the group. */
export async function guestMemberCount(d1: D1Database, tenantId: string, groupSeq: number): Promise<number> {
  const row = await d1
    .prepare(
      `SELECT count(*) AS n FROM users u WHERE u.tenant_id = ?1 AND u.user_type = 'Guest' AND u.deleted_at IS NULL
         AND EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_seq = ?2 AND gm.user_seq = u.seq)`,
    )
    .bind(tenantId, groupSeq)
    .first<{ n: number }>();
  return Number(row?.n ?? 0);
}
