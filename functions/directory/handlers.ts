/** The users routes: parse OData → verb or store read → presenter → Graph-shaped answer. */
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
import * as licensing from "../licensing/actions.ts";
import { userLicensingProperties } from "../licensing/views.ts";
import * as lifecycle from "../lifecycle/actions.ts";
import * as actions from "./actions.ts";
import * as routes from "./routes.ts";
import { type UserRow, type UserSelector, userSortable, userSortKey, userSortKeyArity } from "./store.ts";
import { userDefaultSelect, userNavigation, userSearchable, userSelectable } from "./user-fields.ts";
import { compileUserFilter } from "./user-filter.ts";
import { needsLicensing, presentUsers } from "./views.ts";

/** What $expand may name on a user. */
export const userType = { name: "user", properties: userSelectable, navigation: userNavigation };

/** Users for the wire, reading their licensing only when $select asks for it. */
export async function presentWithLicensing(ctx: Ctx, users: UserRow[], select: string[] | undefined) {
  if (!needsLicensing(select)) return presentUsers(users, select);
  const withPlans = (select ?? userDefaultSelect).includes("assignedPlans");
  const { views, skus } = await licensing.licensingViewsOf({
    ctx,
    input: { userIds: users.map((u) => u.id), withPlans },
  });
  return presentUsers(users, select, (id) => {
    const view = views.get(id);
    return view && userLicensingProperties(view, skus);
  });
}

/**
 * A page of users as directoryObjects (group members, members with license errors): the selected users, keyset-paged
 * on the user id.
 */
export async function directoryUserPage(
  ctx: Ctx,
  requestUrl: string,
  query: { $top?: string | undefined; $skiptoken?: string | undefined; $select?: string | undefined },
  within: UserSelector,
) {
  const top = parseTop(query.$top);
  const select = parseSelect(query.$select, userSelectable, "user");
  const { rows } = await actions.listUsers({
    ctx,
    input: { within, top, after: readCursor(query.$skiptoken, undefined, 1) },
  });
  const page = keysetPage(rows, top, requestUrl, (u) => u.id);
  const value = await presentWithLicensing(ctx, page.shown, select);
  return {
    "@odata.context": contextUrl(requestUrl, "directoryObjects"),
    ...page.nextLink,
    value: value.map((u) => ({ "@odata.type": "#microsoft.graph.user" as const, ...u })),
  };
}

export const usersRouter = newRouter()
  .openapi(routes.listUsers, async (c) => {
    const ctx = c.get("ctx");
    const query = c.req.valid("query");
    const top = parseTop(query.$top);
    const select = parseSelect(query.$select, userSelectable, "user");
    refuseExpand(query.$expand, userType);
    const count = parseCount(query.$count);
    const filter = compileODataFilter(query.$filter, compileUserFilter);
    const search = parseSearch(query.$search, userSearchable, "User");
    const order = parseOrderBy(query.$orderby, userSortable, "User");
    requireListConsistency(c.req.header("ConsistencyLevel"), { search, order, filter, count });
    const after = readCursor(query.$skiptoken, order, userSortKeyArity(order));
    const listed = await actions.listUsers({ ctx, input: { filter, search, top, order, after, count } });
    const page = keysetPage(listed.rows, top, c.req.url, (u) => writeCursor(order, userSortKey(order, u)));
    return c.json(
      {
        "@odata.context": contextUrl(c.req.url, select ? `users(${select.join(",")})` : "users"),
        ...(count ? { "@odata.count": listed.count } : {}),
        ...page.nextLink,
        value: await presentWithLicensing(ctx, page.shown, select),
      },
      200,
    );
  })
  // Before getUser: Hono tries routes in the order they are added, and `$count` is no user's id.
  .openapi(routes.countUsers, async (c) => {
    requireRawCountConsistency(c.req.header("ConsistencyLevel"));
    const query = c.req.valid("query");
    const filter = compileODataFilter(query.$filter, compileUserFilter);
    const search = parseSearch(query.$search, userSearchable, "User");
    const count = await actions.countUsers({ ctx: c.get("ctx"), input: { filter, search } });
    return c.text(String(count), 200);
  })
  .openapi(routes.getUser, async (c) => {
    const ctx = c.get("ctx");
    const { id } = c.req.valid("param");
    const query = c.req.valid("query");
    const select = parseSelect(query.$select, userSelectable, "user");
    refuseExpand(query.$expand, userType);
    const wanted = needsLicensing(select)
      ? { withPlans: (select ?? userDefaultSelect).includes("assignedPlans") }
      : null;
    const read = await licensing.readUser({ ctx, input: { userRef: id, licensing: wanted } });
    const view = read.licensing?.views.get(read.user.id);
    const [body] = presentUsers(
      [read.user],
      select,
      () => view && read.licensing && userLicensingProperties(view, read.licensing.skus),
    );
    return c.json({ "@odata.context": contextUrl(c.req.url, "users/$entity"), ...body }, 200);
  })
  .openapi(routes.createUser, async (c) => {
    const user = await actions.createUser({ ctx: c.get("ctx"), input: c.req.valid("json") });
    const [body] = presentUsers([user], undefined);
    c.header("Location", `${new URL(c.req.url).origin}/v1.0/users/${user.id}`);
    return c.json({ "@odata.context": contextUrl(c.req.url, "users/$entity"), ...body }, 201);
  })
  .openapi(routes.updateUser, async (c) => {
    await actions.updateUser({
      ctx: c.get("ctx"),
      input: { userRef: c.req.valid("param").id, changes: c.req.valid("json") },
    });
    return c.body(null, 204);
  })
  .openapi(routes.deleteUser, async (c) => {
    await lifecycle.deleteUser({ ctx: c.get("ctx"), input: { userRef: c.req.valid("param").id } });
    return c.body(null, 204);
  })
  .openapi(routes.listDeletedUsers, async (c) => {
    const query = c.req.valid("query");
    const top = parseTop(query.$top);
    const select = parseSelect(query.$select, userSelectable, "user") ?? deletedSelect;
    const rows = await actions.listDeletedUsers({
      ctx: c.get("ctx"),
      input: { top, after: decodeSkipToken(query.$skiptoken) },
    });
    const page = keysetPage(rows, top, c.req.url, (u) => u.id);
    return c.json(
      {
        "@odata.context": contextUrl(c.req.url, "directory/deletedItems/microsoft.graph.user"),
        ...page.nextLink,
        value: presentUsers(page.shown, select).map(asDirectoryUser),
      },
      200,
    );
  })
  .openapi(routes.getDeletedItem, async (c) => {
    const user = await actions.getDeletedUser({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id } });
    const [body] = presentUsers([user], deletedSelect);
    return c.json(
      { "@odata.context": contextUrl(c.req.url, "directory/deletedItems/$entity"), ...asDirectoryUser(body!) },
      200,
    );
  })
  .openapi(routes.restoreDeletedItem, async (c) => {
    const body = (c.req.valid("json") ?? {}) as { newUserPrincipalName?: string };
    const user = await lifecycle.restoreUser({
      ctx: c.get("ctx"),
      input: { id: c.req.valid("param").id, newUserPrincipalName: body.newUserPrincipalName },
    });
    const [shown] = presentUsers([user], deletedSelect);
    return c.json(
      { "@odata.context": contextUrl(c.req.url, "directoryObjects/$entity"), ...asDirectoryUser(shown!) },
      200,
    );
  })
  .openapi(routes.permanentlyDeleteItem, async (c) => {
    await lifecycle.purgeDeletedUser({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id } });
    return c.body(null, 204);
  });

/** A deleted user shows Graph's default properties and when it was deleted. */
const deletedSelect = [...userDefaultSelect, "deletedDateTime"];
const asDirectoryUser = <T extends object>(user: T) => ({ "@odata.type": "#microsoft.graph.user" as const, ...user });
