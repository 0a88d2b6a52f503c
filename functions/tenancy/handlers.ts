/** The tenancy routes: validated input → verb → Graph-shaped answer. */
import { contextUrl } from "../core/odata.ts";
import { newRouter } from "../core/openapi.ts";
import { createTenant } from "../lifecycle/tenants.ts";
import { forgetCachedKeys } from "../middleware/auth.ts";
import * as actions from "./actions.ts";
import * as routes from "./routes.ts";
import { graphOrganization } from "./views.ts";

export const tenancyRouter = newRouter()
  .openapi(routes.organization, async (c) => {
    const tenant = await actions.getOrganization({ ctx: c.get("ctx") });
    return c.json({ "@odata.context": contextUrl(c.req.url, "organization"), value: [graphOrganization(tenant)] }, 200);
  })
  .openapi(routes.createTenant, async (c) => {
    const { tenant, adminKey } = await createTenant({
      ctx: c.get("ctx"),
      input: { ...c.req.valid("json"), withAdminKey: true },
    });
    return c.json({ ...tenant, adminKey: adminKey!.key }, 201);
  })
  .openapi(routes.listKeys, async (c) => c.json({ value: await actions.listApiKeys({ ctx: c.get("ctx") }) }, 200))
  .openapi(routes.createKey, async (c) => {
    const issued = await actions.issueApiKey({ ctx: c.get("ctx"), input: c.req.valid("json") });
    return c.json(issued, 201);
  })
  .openapi(routes.revokeKey, async (c) => {
    await actions.revokeApiKey({ ctx: c.get("ctx"), input: { keyId: c.req.valid("param").id } });
    forgetCachedKeys();
    return c.body(null, 204);
  });
