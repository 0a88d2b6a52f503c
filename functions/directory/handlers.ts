import { badRequest, GraphError, notFound } from "../core/errors.ts";
import {
  contextUrl,
  decodeSkipToken,
  nextLink,
  parseCount,
  parseSelect,
  parseTop,
  project,
  requireEventualConsistency,
} from "../core/odata.ts";
import { ODataFilterError, parseODataFilter } from "../core/odata-filter.ts";
import { newRouter } from "../core/openapi.ts";
import { loadLicensingViews } from "../licensing/views.ts";
import * as actions from "./actions.ts";
import * as routes from "./routes.ts";
import { userDefaultSelect, userSelectable } from "./schemas.ts";
import { findUser, toUserRow, type UserRow, userColumns } from "./store.ts";
import { compileUserFilter } from "./user-filter.ts";
import { graphUser, licensingFields } from "./views.ts";

function compileFilter(raw: string | undefined) {
  if (raw === undefined) return undefined;
  try {
    return compileUserFilter(parseODataFilter(raw));
  } catch (error) {
    if (error instanceof ODataFilterError) {
      throw new GraphError(
        error.code === "Request_UnsupportedQuery" ? "Request_UnsupportedQuery" : "Request_BadRequest",
        error.message,
      );
    }
    throw error;
  }
}

/** Shapes users for the wire, reading licensing only when $select asks for it. */
export async function presentUsers(d1: D1Database, tenantId: string, users: UserRow[], select: string[] | undefined) {
  const fields = select ?? userDefaultSelect;
  const needsLicensing = fields.some((f) => (licensingFields as readonly string[]).includes(f));
  const licensing = needsLicensing
    ? await loadLicensingViews(
        d1,
        tenantId,
        users.map((u) => u.id),
        fields.includes("assignedPlans"),
      )
    : undefined;
  return users.map((user) => {
    const view = licensing?.views.get(user.id);
    return project(graphUser(user, view && licensing ? { view, skus: licensing.skus } : undefined), fields);
  });
}

export const usersRouter = newRouter()
  .openapi(routes.listUsers, async (c) => {
    const ctx = c.get("ctx");
    const query = c.req.valid("query");
    if (query.$orderby !== undefined || query.$search !== undefined) {
      throw new GraphError(
        "Request_UnsupportedQuery",
        "$orderby and $search are not supported on users; results are ordered by id.",
      );
    }
    const top = parseTop(query.$top);
    const select = parseSelect(query.$select, userSelectable, "user");
    const count = parseCount(query.$count);
    const filter = compileFilter(query.$filter);
    if (count || filter?.advanced) requireEventualConsistency(c.req.header("ConsistencyLevel"));
    const after = decodeSkipToken(query.$skiptoken);
    const where = `u.tenant_id = ? AND u.deleted_at IS NULL${filter ? ` AND (${filter.sql})` : ""}`;
    const params = [ctx.tenantId, ...(filter?.params ?? [])];
    const page = ctx.d1
      .prepare(`SELECT ${userColumns} FROM users u WHERE ${where}${after ? " AND u.id > ?" : ""} ORDER BY u.id LIMIT ?`)
      .bind(...params, ...(after ? [after] : []), top + 1);
    const [rows, counted] = await ctx.d1.batch<Record<string, unknown>>(
      count ? [page, ctx.d1.prepare(`SELECT count(*) AS n FROM users u WHERE ${where}`).bind(...params)] : [page],
    );
    const users = (rows?.results ?? []).map(toUserRow);
    const more = users.length > top;
    const shown = more ? users.slice(0, top) : users;
    return c.json(
      {
        "@odata.context": contextUrl(c.req.url, select ? `users(${select.join(",")})` : "users"),
        ...(count ? { "@odata.count": Number(counted?.results[0]?.n ?? 0) } : {}),
        ...(more ? { "@odata.nextLink": nextLink(c.req.url, shown[shown.length - 1]!.id) } : {}),
        value: await presentUsers(ctx.d1, ctx.tenantId, shown, select),
      },
      200,
    );
  })
  .openapi(routes.getUser, async (c) => {
    const ctx = c.get("ctx");
    const { id } = c.req.valid("param");
    const select = parseSelect(c.req.valid("query").$select, userSelectable, "user");
    const user = await findUser(ctx.d1, ctx.tenantId, id);
    if (!user) throw notFound(id);
    const [body] = await presentUsers(ctx.d1, ctx.tenantId, [user], select);
    return c.json({ "@odata.context": contextUrl(c.req.url, "users/$entity"), ...body }, 200);
  })
  .openapi(routes.createUser, async (c) => {
    const ctx = c.get("ctx");
    const user = await actions.createUser({ ctx, input: c.req.valid("json") });
    const [body] = await presentUsers(ctx.d1, ctx.tenantId, [user], undefined);
    c.header("Location", `${new URL(c.req.url).origin}/v1.0/users/${user.id}`);
    return c.json({ "@odata.context": contextUrl(c.req.url, "users/$entity"), ...body }, 201);
  })
  .openapi(routes.updateUser, async (c) => {
    const ctx = c.get("ctx");
    await actions.updateUser({ ctx, userRef: c.req.valid("param").id, input: c.req.valid("json") });
    return c.body(null, 204);
  })
  .openapi(routes.deleteUser, async (c) => {
    const ctx = c.get("ctx");
    await actions.deleteUser({ ctx, userRef: c.req.valid("param").id });
    return c.body(null, 204);
  });

export { badRequest };
