/** The users routes: parse OData → verb or store read → presenter → Graph-shaped answer. */
import type { Ctx } from "../core/context.ts";
import { unsupported } from "../core/errors.ts";
import {
  compileODataFilter,
  contextUrl,
  decodeSkipToken,
  keysetPage,
  parseCount,
  parseSelect,
  parseTop,
  requireEventualConsistency,
} from "../core/odata.ts";
import { newRouter } from "../core/openapi.ts";
import * as licensing from "../licensing/actions.ts";
import { userLicensingProperties } from "../licensing/views.ts";
import * as lifecycle from "../lifecycle/actions.ts";
import * as actions from "./actions.ts";
import * as routes from "./routes.ts";
import type { UserRow, UserSelector } from "./store.ts";
import { userDefaultSelect, userSelectable } from "./user-fields.ts";
import { compileUserFilter } from "./user-filter.ts";
import { needsLicensing, presentUsers } from "./views.ts";

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
    input: { within, top, after: decodeSkipToken(query.$skiptoken) ?? "" },
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
    if (query.$orderby !== undefined || query.$search !== undefined) {
      throw unsupported("$orderby and $search are not supported on users; results are ordered by id.");
    }
    const top = parseTop(query.$top);
    const select = parseSelect(query.$select, userSelectable, "user");
    const count = parseCount(query.$count);
    const filter = compileODataFilter(query.$filter, compileUserFilter);
    if (count || filter?.advanced) requireEventualConsistency(c.req.header("ConsistencyLevel"));
    const listed = await actions.listUsers({
      ctx,
      input: { filter, top, after: decodeSkipToken(query.$skiptoken), count },
    });
    const page = keysetPage(listed.rows, top, c.req.url, (u) => u.id);
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
  .openapi(routes.getUser, async (c) => {
    const ctx = c.get("ctx");
    const { id } = c.req.valid("param");
    const select = parseSelect(c.req.valid("query").$select, userSelectable, "user");
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
