/** The tenancy capability's route contracts. */
import { defineRoute, jsonBody, jsonResponse } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import {
  ApiKeyList,
  CreatedTenant,
  CreateKeySchema,
  CreateTenantSchema,
  IssuedKeySchema,
  KeyIdParam,
  OrganizationCollection,
} from "./schemas.ts";

export const organization = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/organization",
  operationId: "getOrganization",
  tags: ["Tenancy"],
  summary: "The caller's tenant as Graph's organization",
  responses: { 200: jsonResponse(OrganizationCollection, "organization") },
});

export const createTenant = defineRoute(can.operate, {
  method: "post",
  path: "/api/tenants",
  operationId: "createTenant",
  tags: ["Tenancy"],
  summary: "Create a tenant; answers with its first GlobalAdministrator key (shown once)",
  request: { body: jsonBody(CreateTenantSchema) },
  responses: { 201: jsonResponse(CreatedTenant, "The tenant and its admin key") },
});

export const listKeys = defineRoute(can.manageTenancy, {
  method: "get",
  path: "/api/keys",
  operationId: "listApiKeys",
  tags: ["Tenancy"],
  summary: "The tenant's API keys (never the secrets)",
  responses: { 200: jsonResponse(ApiKeyList, "API keys") },
});

export const createKey = defineRoute(can.manageTenancy, {
  method: "post",
  path: "/api/keys",
  operationId: "createApiKey",
  tags: ["Tenancy"],
  summary: "Issue an API key for this tenant (the secret is shown once)",
  request: { body: jsonBody(CreateKeySchema) },
  responses: { 201: jsonResponse(IssuedKeySchema, "The key") },
});

export const revokeKey = defineRoute(can.manageTenancy, {
  method: "delete",
  path: "/api/keys/{id}",
  operationId: "revokeApiKey",
  tags: ["Tenancy"],
  summary: "Revoke an API key",
  request: { params: KeyIdParam },
  responses: { 204: { description: "Revoked" } },
});
