import type { Ctx } from "../core/context.ts";
import { notFound, unsupported } from "../core/errors.ts";
import { isGuid } from "../core/ids.ts";
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
import { licensingViewStatements, licensingViews, loadLicensingViews } from "../licensing/views.ts";
import * as actions from "./actions.ts";
import * as routes from "./routes.ts";
import { userDefaultSelect, userSelectable } from "./schemas.ts";
import { toUserRow, type UserRow, userByRefQuery, userColumns } from "./store.ts";
import { compileUserFilter } from "./user-filter.ts";
import { graphUser, licensingFields } from "./views.ts";

const needsLicensing = (fields: readonly string[]) =>
  fields.some((f) => (licensingFields as readonly string[]).includes(f));

/** Shapes users for the wire, reading licensing only when $select asks for it (or using what the caller read). */
export async function presentUsers(
  d1: D1Database,
  tenantId: string,
  users: UserRow[],
  select: string[] | undefined,
  preloaded?: Awaited<ReturnType<typeof loadLicensingViews>>,
) {
  const fields = select ?? userDefaultSelect;
  const licensing =
    preloaded ??
    (needsLicensing(fields)
      ? await loadLicensingViews(
          d1,
          tenantId,
          users.map((u) => u.id),
          fields.includes("assignedPlans"),
        )
      : undefined);
  return users.map((user) => {
    const view = licensing?.views.get(user.id);
    return project(graphUser(user, view && licensing ? { view, skus: licensing.skus } : undefined), fields);
  });
}

/**
 * A page of users as directoryObjects (group members, members with license errors): `where` filters `users u`
 * with ?1 the tenant and its own parameters after; keyset paging on the user id.
 */
export async function directoryUserPage(
  ctx: Ctx,
  requestUrl: string,
  query: { $top?: string | undefined; $skiptoken?: string | undefined; $select?: string | undefined },
  where: string,
  params: unknown[],
) {
  const top = parseTop(query.$top);
  const select = parseSelect(query.$select, userSelectable, "user");
  const after = decodeSkipToken(query.$skiptoken) ?? "";
  const n = params.length + 2;
  const { results } = await ctx.d1
    .prepare(
      `SELECT ${userColumns} FROM users u WHERE u.tenant_id = ?1 AND u.deleted_at IS NULL AND (${where}) AND u.id > ?${n}
       ORDER BY u.id LIMIT ?${n + 1}`,
    )
    .bind(ctx.tenantId, ...params, after, top + 1)
    .all<Record<string, unknown>>();
  const users = results.map(toUserRow);
  const more = users.length > top;
  const shown = more ? users.slice(0, top) : users;
  const value = await presentUsers(ctx.d1, ctx.tenantId, shown, select);
  return {
    "@odata.context": contextUrl(requestUrl, "directoryObjects"),
    ...(more ? { "@odata.nextLink": nextLink(requestUrl, shown[shown.length - 1]!.id) } : {}),
    value: value.map((u) => ({ "@odata.type": "#microsoft.graph.user", ...u })),
  };
}

/** One user and, when $select asks for it, their licensing: one D1 round trip. */
async function readUser(d1: D1Database, tenantId: string, ref: string, select: string[] | undefined) {
  const fields = select ?? userDefaultSelect;
  const withLicensing = needsLicensing(fields);
  const selector = {
    sql: `SELECT seq FROM users WHERE tenant_id = ?1 AND deleted_at IS NULL AND ${isGuid(ref) ? "id" : "user_principal_name"} = ?2`,
    params: [ref.toLowerCase()],
  };
  const [userResult, ...licensingResults] = await d1.batch<Record<string, unknown>>([
    userByRefQuery(d1, tenantId, ref),
    ...(withLicensing ? licensingViewStatements(d1, tenantId, selector, fields.includes("assignedPlans")) : []),
  ]);
  const raw = userResult?.results[0];
  if (!raw) return undefined;
  const user = toUserRow(raw);
  const [body] = await presentUsers(
    d1,
    tenantId,
    [user],
    select,
    withLicensing ? licensingViews([user.id], licensingResults) : undefined,
  );
  return body;
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
    const body = await readUser(ctx.d1, ctx.tenantId, id, select);
    if (!body) throw notFound(id);
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
