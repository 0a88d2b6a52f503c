import type { Ctx } from "../core/context.ts";
import { notFound } from "../core/errors.ts";
import {
  compileODataFilter,
  contextUrl,
  decodeSkipToken,
  nextLink,
  parseCount,
  parseSelect,
  parseTop,
  project,
  requireEventualConsistency,
} from "../core/odata.ts";
import { newRouter } from "../core/openapi.ts";
import { graphTime } from "../core/time.ts";
import * as actions from "./group-actions.ts";
import { compileGroupFilter } from "./group-filter.ts";
import * as routes from "./group-routes.ts";
import { groupDefaultSelect, groupSelectable } from "./group-schemas.ts";
import { findGroup, type GroupRow, groupColumns, loadGroupLicenses, toGroupRow } from "./group-store.ts";
import { directoryUserPage } from "./handlers.ts";
import { findUser } from "./store.ts";

const ruleStatus = (jobState: string | null | undefined) =>
  jobState === "Complete"
    ? "Succeeded"
    : jobState === "Running" || jobState === "Superseded"
      ? "Running"
      : "NotStarted";

export async function presentGroups(ctx: Ctx, groups: GroupRow[], select: string[] | undefined) {
  const fields = select ?? groupDefaultSelect;
  const licenses = fields.includes("assignedLicenses")
    ? await loadGroupLicenses(
        ctx.d1,
        ctx.tenantId,
        groups.map((g) => g.id),
      )
    : undefined;
  return groups.map((g) =>
    project(
      {
        id: g.id,
        createdDateTime: graphTime(g.createdAt),
        description: g.description,
        displayName: g.displayName,
        groupTypes: g.groupTypes,
        mail: g.mailEnabled && g.mailNickname ? `${g.mailNickname}@seatflow.local` : null,
        mailEnabled: g.mailEnabled,
        mailNickname: g.mailNickname,
        membershipRule: g.membershipRule,
        membershipRuleProcessingState: g.membershipRuleProcessingState,
        securityEnabled: g.securityEnabled,
        assignedLicenses: (licenses?.get(g.id) ?? []).map((l) => ({ disabledPlans: l.disabledPlans, skuId: l.skuId })),
        licenseProcessingState: g.licenseProcessingState ? { state: g.licenseProcessingState } : null,
        // Beta Graph's shape: how far the latest evaluation of a dynamic rule has got (admins ask "is it done yet?").
        membershipRuleProcessingStatus: g.membershipRule ? { status: ruleStatus(g.ruleJobState) } : null,
      },
      fields,
    ),
  );
}

function groupFilter(raw: string | undefined, params: (string | number)[]) {
  const sql = compileODataFilter(raw, (node) => compileGroupFilter(node, params));
  return sql === undefined ? "" : ` AND ${sql}`;
}

const page = <T extends { id: string }>(rows: T[], top: number) => {
  const more = rows.length > top;
  return { shown: more ? rows.slice(0, top) : rows, more };
};

export const groupsRouter = newRouter()
  .openapi(routes.listGroups, async (c) => {
    const ctx = c.get("ctx");
    const query = c.req.valid("query");
    const top = parseTop(query.$top);
    const select = parseSelect(query.$select, groupSelectable, "group");
    const count = parseCount(query.$count);
    if (count) requireEventualConsistency(c.req.header("ConsistencyLevel"));
    const params: (string | number)[] = [ctx.tenantId];
    const where = `g.tenant_id = ? AND g.deleted_at IS NULL${groupFilter(query.$filter, params)}`;
    const after = decodeSkipToken(query.$skiptoken);
    const [rows, counted] = await ctx.d1.batch<Record<string, unknown>>([
      ctx.d1
        .prepare(
          `SELECT ${groupColumns} FROM groups g WHERE ${where}${after ? " AND g.id > ?" : ""} ORDER BY g.id LIMIT ?`,
        )
        .bind(...params, ...(after ? [after] : []), top + 1),
      ...(count ? [ctx.d1.prepare(`SELECT count(*) AS n FROM groups g WHERE ${where}`).bind(...params)] : []),
    ]);
    const { shown, more } = page((rows?.results ?? []).map(toGroupRow), top);
    return c.json(
      {
        "@odata.context": contextUrl(c.req.url, "groups"),
        ...(count ? { "@odata.count": Number(counted?.results[0]?.n ?? 0) } : {}),
        ...(more ? { "@odata.nextLink": nextLink(c.req.url, shown[shown.length - 1]!.id) } : {}),
        value: await presentGroups(ctx, shown, select),
      },
      200,
    );
  })
  .openapi(routes.getGroup, async (c) => {
    const ctx = c.get("ctx");
    const { id } = c.req.valid("param");
    const group = await findGroup(ctx.d1, ctx.tenantId, id);
    if (!group) throw notFound(id);
    const [body] = await presentGroups(
      ctx,
      [group],
      parseSelect(c.req.valid("query").$select, groupSelectable, "group"),
    );
    return c.json({ "@odata.context": contextUrl(c.req.url, "groups/$entity"), ...body }, 200);
  })
  .openapi(routes.createGroup, async (c) => {
    const ctx = c.get("ctx");
    const group = await actions.createGroup({ ctx, input: c.req.valid("json") });
    const [body] = await presentGroups(ctx, [group], undefined);
    return c.json({ "@odata.context": contextUrl(c.req.url, "groups/$entity"), ...body }, 201);
  })
  .openapi(routes.updateGroup, async (c) => {
    await actions.updateGroup({ ctx: c.get("ctx"), groupId: c.req.valid("param").id, input: c.req.valid("json") });
    return c.body(null, 204);
  })
  .openapi(routes.deleteGroup, async (c) => {
    await actions.deleteGroup({ ctx: c.get("ctx"), groupId: c.req.valid("param").id });
    return c.body(null, 204);
  })
  .openapi(routes.listMembers, async (c) => {
    const ctx = c.get("ctx");
    const { id } = c.req.valid("param");
    const group = await findGroup(ctx.d1, ctx.tenantId, id);
    if (!group) throw notFound(id);
    const where = "u.seq IN (SELECT user_seq FROM group_members WHERE group_seq = ?2)";
    return c.json(await directoryUserPage(ctx, c.req.url, c.req.valid("query"), where, [group.seq]), 200);
  })
  .openapi(routes.addMember, async (c) => {
    await actions.addGroupMember({
      ctx: c.get("ctx"),
      groupId: c.req.valid("param").id,
      memberUrl: c.req.valid("json")["@odata.id"],
    });
    return c.body(null, 204);
  })
  .openapi(routes.removeMember, async (c) => {
    const { id, userId } = c.req.valid("param");
    await actions.removeGroupMember({ ctx: c.get("ctx"), groupId: id, userRef: userId });
    return c.body(null, 204);
  })
  .openapi(routes.memberOf, async (c) => {
    const ctx = c.get("ctx");
    const { id } = c.req.valid("param");
    const query = c.req.valid("query");
    const user = await findUser(ctx.d1, ctx.tenantId, id);
    if (!user) throw notFound(id);
    const top = parseTop(query.$top);
    const after = decodeSkipToken(query.$skiptoken) ?? "";
    const { results } = await ctx.d1
      .prepare(
        `SELECT ${groupColumns} FROM group_members gm JOIN groups g ON g.seq = gm.group_seq AND g.deleted_at IS NULL
         WHERE gm.user_seq = ?1 AND g.id > ?2 ORDER BY g.id LIMIT ?3`,
      )
      .bind(user.seq, after, top + 1)
      .all<Record<string, unknown>>();
    const { shown, more } = page(results.map(toGroupRow), top);
    const groups = await presentGroups(ctx, shown, parseSelect(query.$select, groupSelectable, "group"));
    return c.json(
      {
        "@odata.context": contextUrl(c.req.url, "directoryObjects"),
        ...(more ? { "@odata.nextLink": nextLink(c.req.url, shown[shown.length - 1]!.id) } : {}),
        value: groups.map((g) => ({ "@odata.type": "#microsoft.graph.group", ...g })),
      },
      200,
    );
  });
