import { roles } from "../core/context.ts";
import { notFound } from "../core/errors.ts";
import { contextUrl } from "../core/odata.ts";
import { defineRoute, GraphCollection, GraphObject, jsonBody, jsonResponse, newRouter, z } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import { graphTime } from "../core/time.ts";
import { forgetCachedKeys } from "../middleware/auth.ts";
import { createTenant, findTenant, issueApiKey, listApiKeys, revokeApiKey } from "./actions.ts";

const CreateTenantSchema = z
  .object({
    displayName: z.string().trim().min(1).max(256),
    country: z.string().regex(/^[A-Za-z]{2}$/, "country must be a two-letter ISO 3166 code."),
  })
  .strict()
  .openapi("CreateTenant");

const CreateKeySchema = z
  .object({ role: z.enum(roles), name: z.string().trim().min(1).max(128).optional() })
  .strict()
  .openapi("CreateApiKey");

const routes = {
  organization: defineRoute(can.readDirectory, {
    method: "get",
    path: "/v1.0/organization",
    tags: ["Tenancy"],
    summary: "The caller's tenant as Graph's organization",
    responses: { 200: jsonResponse(GraphCollection, "organization") },
  }),
  createTenant: defineRoute(can.operate, {
    method: "post",
    path: "/api/tenants",
    tags: ["Tenancy"],
    summary: "Create a tenant; answers with its first GlobalAdministrator key (shown once)",
    request: { body: jsonBody(CreateTenantSchema) },
    responses: { 201: jsonResponse(GraphObject, "The tenant and its admin key") },
  }),
  listKeys: defineRoute(can.manageTenancy, {
    method: "get",
    path: "/api/keys",
    tags: ["Tenancy"],
    summary: "The tenant's API keys (never the secrets)",
    responses: { 200: jsonResponse(GraphCollection, "API keys") },
  }),
  createKey: defineRoute(can.manageTenancy, {
    method: "post",
    path: "/api/keys",
    tags: ["Tenancy"],
    summary: "Issue an API key for this tenant (the secret is shown once)",
    request: { body: jsonBody(CreateKeySchema) },
    responses: { 201: jsonResponse(GraphObject, "The key") },
  }),
  revokeKey: defineRoute(can.manageTenancy, {
    method: "delete",
    path: "/api/keys/{id}",
    tags: ["Tenancy"],
    summary: "Revoke an API key",
    request: { params: z.object({ id: z.string().min(1).max(64) }) },
    responses: { 204: { description: "Revoked" } },
  }),
};

export const tenancyRouter = newRouter()
  .openapi(routes.organization, async (c) => {
    const ctx = c.get("ctx");
    const tenant = await findTenant(ctx.d1, ctx.tenantId);
    if (!tenant) throw notFound(ctx.tenantId);
    return c.json(
      {
        "@odata.context": contextUrl(c.req.url, "organization"),
        value: [
          {
            id: tenant.id,
            displayName: tenant.displayName,
            countryLetterCode: tenant.country,
            createdDateTime: graphTime(tenant.createdAt),
          },
        ],
      },
      200,
    );
  })
  .openapi(routes.createTenant, async (c) => {
    const ctx = c.get("ctx");
    const input = c.req.valid("json");
    const tenant = await createTenant(ctx.d1, { ...input, now: ctx.now }, ctx);
    const key = await issueApiKey(ctx.d1, {
      tenantId: tenant.id,
      role: "GlobalAdministrator",
      name: "Initial admin key",
      now: ctx.now,
    });
    return c.json({ ...tenant, adminKey: key.key }, 201);
  })
  .openapi(routes.listKeys, async (c) => {
    const ctx = c.get("ctx");
    return c.json({ value: await listApiKeys(ctx.d1, ctx.tenantId) }, 200);
  })
  .openapi(routes.createKey, async (c) => {
    const ctx = c.get("ctx");
    const input = c.req.valid("json");
    const issued = await issueApiKey(
      ctx.d1,
      { tenantId: ctx.tenantId, role: input.role, name: input.name, now: ctx.now },
      ctx,
    );
    return c.json(issued, 201);
  })
  .openapi(routes.revokeKey, async (c) => {
    await revokeApiKey(c.get("ctx"), c.req.valid("param").id);
    forgetCachedKeys();
    return c.body(null, 204);
  });
