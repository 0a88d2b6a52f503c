/** The tenancy routes: validated input → verb → Graph-shaped answer. */

import { contextUrl } from "../core/odata.ts";
import { newRouter } from "../core/openapi.ts";
import { bootstrapInstallation, createTenant } from "../lifecycle/tenants.ts";
import { forgetCachedKeys } from "../middleware/auth.ts";
import * as actions from "./actions.ts";
import * as routes from "./routes.ts";
import { graphDomain, graphOrganization } from "./views.ts";

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
  .openapi(routes.bootstrap, async (c) => {
    const { tenant, adminKey } = await bootstrapInstallation({ ctx: c.get("ctx"), input: c.req.valid("json") });
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
  })
  .openapi(routes.listDomains, async (c) => {
    const domains = await actions.listDomains({ ctx: c.get("ctx") });
    return c.json({ "@odata.context": contextUrl(c.req.url, "domains"), value: domains.map(graphDomain) }, 200);
  })
  .openapi(routes.getDomain, async (c) => {
    const { id } = c.req.valid("param");
    const domain = await actions.getDomain({ ctx: c.get("ctx"), input: { name: id } });
    return c.json({ "@odata.context": contextUrl(c.req.url, "domains/$entity"), ...graphDomain(domain) }, 200);
  })
  .openapi(routes.addDomain, async (c) => {
    const { id, isDefault } = c.req.valid("json");
    const domain = await actions.addDomain({ ctx: c.get("ctx"), input: { name: id, isDefault } });
    return c.json(graphDomain(domain), 201);
  })
  .openapi(routes.removeDomain, async (c) => {
    await actions.removeDomain({ ctx: c.get("ctx"), input: { name: c.req.valid("param").id } });
    return c.body(null, 204);
  })
  .openapi(routes.getSettings, async (c) => c.json(await actions.getSettings({ ctx: c.get("ctx") }), 200))
  .openapi(routes.updateSettings, async (c) =>
    c.json(await actions.updateSettings({ ctx: c.get("ctx"), input: c.req.valid("json") }), 200),
  )
  .openapi(routes.updateTenant, async (c) => {
    const tenant = await actions.setSeatSelling({
      ctx: c.get("ctx"),
      input: { tenantId: c.req.valid("param").id, ...c.req.valid("json") },
    });
    return c.json(tenant, 200);
  });
