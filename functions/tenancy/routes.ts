/** The tenancy capability's route contracts. */
import { defineRoute, jsonBody, jsonResponse } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import {
  AddDomainSchema,
  ApiKeyList,
  BootstrapSchema,
  CreatedTenant,
  CreateKeySchema,
  CreateTenantSchema,
  DomainCollection,
  DomainEntity,
  DomainIdParam,
  DomainSchema,
  IssuedKeySchema,
  KeyIdParam,
  OrganizationCollection,
  SettingsSchema,
  TenantIdParam,
  TenantSchema,
  UpdateSettingsSchema,
  UpdateTenantSchema,
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

export const bootstrap = defineRoute(can.bootstrap, {
  method: "post",
  path: "/api/bootstrap",
  operationId: "bootstrapInstallation",
  tags: ["Tenancy"],
  summary: "Create a deployed installation's operator tenant and its first GlobalAdministrator key, once",
  description:
    "Only while the SEATFLOW_BOOTSTRAP_TOKEN secret is set (404 otherwise) and no operator tenant exists (403 after). " +
    "The key is shown once; from then on the operator's keys create tenants and keys.",
  request: { body: jsonBody(BootstrapSchema) },
  responses: { 201: jsonResponse(CreatedTenant, "The operator tenant and its admin key") },
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

export const listDomains = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/domains",
  operationId: "listDomains",
  tags: ["Tenancy"],
  summary: "The tenant's domains (a userPrincipalName must end in one of its verified domains)",
  responses: { 200: jsonResponse(DomainCollection, "domain collection") },
});

export const getDomain = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/domains/{id}",
  operationId: "getDomain",
  tags: ["Tenancy"],
  summary: "One of the tenant's domains",
  request: { params: DomainIdParam },
  responses: { 200: jsonResponse(DomainEntity, "domain") },
});

export const addDomain = defineRoute(can.manageTenancy, {
  method: "post",
  path: "/api/domains",
  operationId: "addDomain",
  tags: ["Tenancy"],
  summary: "Add a verified domain (seatflow checks no DNS; a name another tenant holds is refused)",
  request: { body: jsonBody(AddDomainSchema) },
  responses: { 201: jsonResponse(DomainSchema, "The domain") },
});

export const removeDomain = defineRoute(can.manageTenancy, {
  method: "delete",
  path: "/api/domains/{id}",
  operationId: "removeDomain",
  tags: ["Tenancy"],
  summary: "Remove a domain no userPrincipalName uses (not the initial domain)",
  request: { params: DomainIdParam },
  responses: { 204: { description: "Removed" } },
});

export const getSettings = defineRoute(can.readTenancy, {
  method: "get",
  path: "/api/settings",
  operationId: "getSettings",
  tags: ["Tenancy"],
  summary: "The tenant's settings",
  responses: { 200: jsonResponse(SettingsSchema, "Settings") },
});

export const updateSettings = defineRoute(can.manageTenancy, {
  method: "patch",
  path: "/api/settings",
  operationId: "updateSettings",
  tags: ["Tenancy"],
  summary: "Change the tenant's settings (allowGuestsInLicensedGroups)",
  request: { body: jsonBody(UpdateSettingsSchema) },
  responses: { 200: jsonResponse(SettingsSchema, "Settings") },
});

export const updateTenant = defineRoute(can.operate, {
  method: "patch",
  path: "/api/tenants/{id}",
  operationId: "updateTenant",
  tags: ["Tenancy"],
  summary: "Whether a tenant's own administrators may buy and change seats (selfServiceSubscriptions)",
  request: { params: TenantIdParam, body: jsonBody(UpdateTenantSchema) },
  responses: { 200: jsonResponse(TenantSchema, "The tenant") },
});
