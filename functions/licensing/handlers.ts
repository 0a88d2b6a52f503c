/** The licensing routes: validated input → verb → Graph-shaped answer. */
import { contextUrl, parseSelect, project } from "../core/odata.ts";
import { newRouter } from "../core/openapi.ts";
import { getGroup } from "../directory/group-actions.ts";
import { presentWithLicenses } from "../directory/group-handlers.ts";
import { directoryUserPage } from "../directory/handlers.ts";
import { presentUsers } from "../directory/views.ts";
import { assignUserLicenses, licensingViewsOf, readUser, reprocessUserLicenses } from "./actions.ts";
import { assignGroupLicenses, reprocessGroup } from "./group-actions.ts";
import * as routes from "./routes.ts";
import { membersWithLicenseErrors } from "./store.ts";
import { licenseDetails } from "./views.ts";

export const licensingRouter = newRouter()
  .openapi(routes.assignUserLicense, async (c) => {
    const user = await assignUserLicenses({
      ctx: c.get("ctx"),
      input: { ...c.req.valid("json"), userRef: c.req.valid("param").id },
    });
    const [body] = presentUsers([user], undefined);
    return c.json({ "@odata.context": contextUrl(c.req.url, "users/$entity"), ...body }, 200);
  })
  .openapi(routes.reprocessUserLicense, async (c) => {
    const user = await reprocessUserLicenses({ ctx: c.get("ctx"), input: { userRef: c.req.valid("param").id } });
    const [body] = presentUsers([user], undefined);
    return c.json({ "@odata.context": contextUrl(c.req.url, "users/$entity"), ...body }, 200);
  })
  .openapi(routes.listLicenseDetails, async (c) => {
    const ctx = c.get("ctx");
    const select = parseSelect(
      c.req.valid("query").$select,
      ["id", "skuId", "skuPartNumber", "servicePlans"],
      "licenseDetails",
    );
    const { user } = await readUser({ ctx, input: { userRef: c.req.valid("param").id, licensing: null } });
    const { views, skus } = await licensingViewsOf({ ctx, input: { userIds: [user.id], withPlans: true } });
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
    const group = await assignGroupLicenses({
      ctx,
      input: { ...c.req.valid("json"), groupId: c.req.valid("param").id },
    });
    const [body] = await presentWithLicenses(ctx, [group], undefined);
    c.header("Location", `${new URL(c.req.url).origin}/v1.0/groups/${group.id}`);
    return c.json({ "@odata.context": contextUrl(c.req.url, "groups/$entity"), ...body }, 202);
  })
  .openapi(routes.reprocessGroup, async (c) => {
    const ctx = c.get("ctx");
    const group = await reprocessGroup({ ctx, input: { groupId: c.req.valid("param").id } });
    const [body] = await presentWithLicenses(ctx, [group], ["id", "displayName", "licenseProcessingState"]);
    return c.json(body, 202);
  })
  .openapi(routes.membersWithLicenseErrors, async (c) => {
    const ctx = c.get("ctx");
    const group = await getGroup({ ctx, input: { groupId: c.req.valid("param").id } });
    const query = c.req.valid("query");
    return c.json(await directoryUserPage(ctx, c.req.url, query, membersWithLicenseErrors(group.seq)), 200);
  });
