/** The tenancy capability's route contracts. */
import { defineRoute, GraphCollection, GraphObject, jsonBody, jsonResponse } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import { CreateKeySchema, CreateTenantSchema, KeyIdParam } from "./schemas.ts";

export const organization = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/organization",
  tags: ["Tenancy"],
  summary: "The caller's tenant as Graph's organization",
  responses: { 200: jsonResponse(GraphCollection, "organization") },
});

export const createTenant = defineRoute(can.operate, {
  method: "post",
  path: "/api/tenants",
  tags: ["Tenancy"],
  summary: "Create a tenant; answers with its first GlobalAdministrator key (shown once)",
  request: { body: jsonBody(CreateTenantSchema) },
  responses: { 201: jsonResponse(GraphObject, "The tenant and its admin key") },
});

export const listKeys = defineRoute(can.manageTenancy, {
  method: "get",
  path: "/api/keys",
  tags: ["Tenancy"],
  summary: "The tenant's API keys (never the secrets)",
  responses: { 200: jsonResponse(GraphCollection, "API keys") },
});

export const createKey = defineRoute(can.manageTenancy, {
  method: "post",
  path: "/api/keys",
  tags: ["Tenancy"],
  summary: "Issue an API key for this tenant (the secret is shown once)",
  request: { body: jsonBody(CreateKeySchema) },
  responses: { 201: jsonResponse(GraphObject, "The key") },
});

export const revokeKey = defineRoute(can.manageTenancy, {
  method: "delete",
  path: "/api/keys/{id}",
  tags: ["Tenancy"],
  summary: "Revoke an API key",
  request: { params: KeyIdParam },
  responses: { 204: { description: "Revoked" } },
});
