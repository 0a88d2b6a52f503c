import { notFound } from "../core/errors.ts";
import { contextUrl, parseSelect, project } from "../core/odata.ts";
import { newRouter } from "../core/openapi.ts";
import { presentUsers } from "../directory/handlers.ts";
import { findUser } from "../directory/store.ts";
import { assignUserLicenses, reprocessUserLicenses } from "./actions.ts";
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
  });
