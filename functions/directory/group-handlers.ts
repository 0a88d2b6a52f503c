/** The groups routes: parse OData → verb or store read → presenter → Graph-shaped answer. */
import type { Ctx } from "../core/context.ts";
import {
  compileODataFilter,
  contextUrl,
  decodeSkipToken,
  keysetPage,
  parseCount,
  parseOrderBy,
  parseSearch,
  parseSelect,
  parseTop,
  readCursor,
  refuseExpand,
  requireListConsistency,
  requireRawCountConsistency,
  writeCursor,
} from "../core/odata.ts";
import { newRouter } from "../core/openapi.ts";
import { groupLicensesOf } from "../licensing/actions.ts";
import * as actions from "./group-actions.ts";
import { groupFilterQuery } from "./group-filter.ts";
import * as routes from "./group-routes.ts";
import { groupNavigation, groupSelectable, idFromBindUrl } from "./group-schemas.ts";
import { type GroupRow, groupSearchable, groupSortable, groupSortKey, groupSortKeyArity } from "./group-store.ts";
import { needsGroupLicenses, presentGroups } from "./group-views.ts";
import { directoryUserPage } from "./handlers.ts";
import { membersOf } from "./store.ts";

/** What $expand may name on a group. */
const groupType = { name: "group", properties: groupSelectable, navigation: groupNavigation };

/** Groups for the wire, reading their licenses only when $select asks for them. */
export async function presentWithLicenses(ctx: Ctx, groups: GroupRow[], select: string[] | undefined) {
  if (!needsGroupLicenses(select)) return presentGroups(groups, select);
  const licenses = await groupLicensesOf({ ctx, input: { groupIds: groups.map((g) => g.id) } });
  return presentGroups(groups, select, (id) => licenses.get(id) ?? []);
}

const groupInput = (body: { "members@odata.bind"?: string[] | undefined }) => {
  const { "members@odata.bind": bind, ...rest } = body as Record<string, unknown> & {
    "members@odata.bind"?: string[];
  };
  return { ...rest, members: bind?.map(idFromBindUrl) };
};

export const groupsRouter = newRouter()
  .openapi(routes.listGroups, async (c) => {
    const ctx = c.get("ctx");
    const query = c.req.valid("query");
    const top = parseTop(query.$top);
    const select = parseSelect(query.$select, groupSelectable, "group");
    refuseExpand(query.$expand, groupType);
    const count = parseCount(query.$count);
    const filter = compileODataFilter(query.$filter, groupFilterQuery);
    const search = parseSearch(query.$search, groupSearchable, "Group");
    const order = parseOrderBy(query.$orderby, groupSortable, "Group");
    requireListConsistency(c.req.header("ConsistencyLevel"), { search, order, filter, count });
    const after = readCursor(query.$skiptoken, order, groupSortKeyArity(order));
    const listed = await actions.listGroups({ ctx, input: { filter, search, top, order, after, count } });
    const page = keysetPage(listed.rows, top, c.req.url, (g) => writeCursor(order, groupSortKey(order, g)));
    return c.json(
      {
        "@odata.context": contextUrl(c.req.url, "groups"),
        ...(count ? { "@odata.count": listed.count } : {}),
        ...page.nextLink,
        value: await presentWithLicenses(ctx, page.shown, select),
      },
      200,
    );
  })
  // Before getGroup: Hono tries routes in the order they are added, and `$count` is no group's id.
  .openapi(routes.countGroups, async (c) => {
    requireRawCountConsistency(c.req.header("ConsistencyLevel"));
    const query = c.req.valid("query");
    const filter = compileODataFilter(query.$filter, groupFilterQuery);
    const search = parseSearch(query.$search, groupSearchable, "Group");
    const count = await actions.countGroups({ ctx: c.get("ctx"), input: { filter, search } });
    return c.text(String(count), 200);
  })
  .openapi(routes.getGroup, async (c) => {
    const ctx = c.get("ctx");
    const query = c.req.valid("query");
    const select = parseSelect(query.$select, groupSelectable, "group");
    refuseExpand(query.$expand, groupType);
    const group = await actions.getGroup({ ctx, input: { groupId: c.req.valid("param").id } });
    const [body] = await presentWithLicenses(ctx, [group], select);
    return c.json({ "@odata.context": contextUrl(c.req.url, "groups/$entity"), ...body }, 200);
  })
  .openapi(routes.createGroup, async (c) => {
    const ctx = c.get("ctx");
    const group = await actions.createGroup({
      ctx,
      input: groupInput(c.req.valid("json")) as actions.CreateGroupInput,
    });
    const [body] = presentGroups([group], undefined);
    return c.json({ "@odata.context": contextUrl(c.req.url, "groups/$entity"), ...body }, 201);
  })
  .openapi(routes.updateGroup, async (c) => {
    await actions.updateGroup({
      ctx: c.get("ctx"),
      input: { groupId: c.req.valid("param").id, changes: groupInput(c.req.valid("json")) as actions.UpdateGroupInput },
    });
    return c.body(null, 204);
  })
  .openapi(routes.deleteGroup, async (c) => {
    await actions.deleteGroup({ ctx: c.get("ctx"), input: { groupId: c.req.valid("param").id } });
    return c.body(null, 204);
  })
  .openapi(routes.listMembers, async (c) => {
    const ctx = c.get("ctx");
    const group = await actions.getGroup({ ctx, input: { groupId: c.req.valid("param").id } });
    return c.json(await directoryUserPage(ctx, c.req.url, c.req.valid("query"), membersOf(group.seq)), 200);
  })
  .openapi(routes.addMember, async (c) => {
    await actions.addGroupMember({
      ctx: c.get("ctx"),
      input: { groupId: c.req.valid("param").id, userRef: idFromBindUrl(c.req.valid("json")["@odata.id"]) },
    });
    return c.body(null, 204);
  })
  .openapi(routes.removeMember, async (c) => {
    const { id, userId } = c.req.valid("param");
    await actions.removeGroupMember({ ctx: c.get("ctx"), input: { groupId: id, userRef: userId } });
    return c.body(null, 204);
  })
  .openapi(routes.memberOf, async (c) => {
    const ctx = c.get("ctx");
    const query = c.req.valid("query");
    const top = parseTop(query.$top);
    const rows = await actions.listMemberOf({
      ctx,
      input: { userRef: c.req.valid("param").id, top, after: decodeSkipToken(query.$skiptoken) },
    });
    const page = keysetPage(rows, top, c.req.url, (g) => g.id);
    const groups = await presentWithLicenses(ctx, page.shown, parseSelect(query.$select, groupSelectable, "group"));
    return c.json(
      {
        "@odata.context": contextUrl(c.req.url, "directoryObjects"),
        ...page.nextLink,
        value: groups.map((g) => ({ "@odata.type": "#microsoft.graph.group" as const, ...g })),
      },
      200,
    );
  });
