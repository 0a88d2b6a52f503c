import { notFound } from "../core/errors.ts";
import { contextUrl, parseSelect, project } from "../core/odata.ts";
import { newRouter } from "../core/openapi.ts";
import { presentGroups } from "../directory/group-handlers.ts";
import { findGroup } from "../directory/group-store.ts";
import { directoryUserPage, presentUsers } from "../directory/handlers.ts";
import { findUser } from "../directory/store.ts";
import { assignUserLicenses, reprocessUserLicenses } from "./actions.ts";
import { assignGroupLicenses, reprocessGroup } from "./group-actions.ts";
import * as routes from "./routes.ts";
import { licenseDetails, loadLicensingViews } from "./views.ts";

export const licensingRouter = newRouter()
  .openapi(routes.assignUserLicense, async (c) => {
    const ctx = c.get("ctx");
    const user = await assignUserLicenses({ ctx, userRef: c.req.valid("param").id, request: c.req.valid("json") });
    const [body] = await presentUsers(ctx.d1, ctx.tenantId, [user], undefined);
    return c.json({ "@odata.context": contextUrl(c.req.url, "users/$entity"), ...body }, 200);
  })
  .openapi(routes.reprocessUserLicense, async (c) => {
    const ctx = c.get("ctx");
    const user = await reprocessUserLicenses({ ctx, userRef: c.req.valid("param").id });
    const [body] = await presentUsers(ctx.d1, ctx.tenantId, [user], undefined);
    return c.json({ "@odata.context": contextUrl(c.req.url, "users/$entity"), ...body }, 200);
  })
  .openapi(routes.listLicenseDetails, async (c) => {
    const ctx = c.get("ctx");
    const { id } = c.req.valid("param");
    const select = parseSelect(
      c.req.valid("query").$select,
      ["id", "skuId", "skuPartNumber", "servicePlans"],
      "licenseDetails",
    );
    const user = await findUser(ctx.d1, ctx.tenantId, id);
    if (!user) throw notFound(id);
    const { views, skus } = await loadLicensingViews(ctx.d1, ctx.tenantId, [user.id], true);
    return c.json(
      {
        "@odata.context": contextUrl(c.req.url, `users('${user.id}')/licenseDetails`),
        value: licenseDetails(user.id, views.get(user.id)!, skus).map((d) => project(d, select)),
      },
      200,
    );
  })
  .openapi(routes.assignGroupLicense, async (c) => {
    const ctx = c.get("ctx");
    const group = await assignGroupLicenses({ ctx, groupId: c.req.valid("param").id, request: c.req.valid("json") });
    const [body] = await presentGroups(ctx, [group], undefined);
    c.header("Location", `${new URL(c.req.url).origin}/v1.0/groups/${group.id}`);
    return c.json({ "@odata.context": contextUrl(c.req.url, "groups/$entity"), ...body }, 202);
  })
  .openapi(routes.reprocessGroup, async (c) => {
    const ctx = c.get("ctx");
    const group = await reprocessGroup({ ctx, groupId: c.req.valid("param").id });
    const [body] = await presentGroups(ctx, [group], ["id", "displayName", "licenseProcessingState"]);
    return c.json(body, 202);
  })
  .openapi(routes.membersWithLicenseErrors, async (c) => {
    const ctx = c.get("ctx");
    const { id } = c.req.valid("param");
    const group = await findGroup(ctx.d1, ctx.tenantId, id);
    if (!group) throw notFound(id);
    const where = `u.seq IN (SELECT user_seq FROM license_sources WHERE source_seq = ?2 AND state = 'Error')`;
    return c.json(await directoryUserPage(ctx, c.req.url, c.req.valid("query"), where, [group.seq]), 200);
  });
