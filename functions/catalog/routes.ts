/** The catalogue capability's route contracts. */
import { defineRoute, jsonBody, jsonResponse, z } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import { CatalogImportResult, PlanRuleIdParam, PlanRuleList, PlanRuleSchema, StoredPlanRuleSchema } from "./schemas.ts";

export const importCatalog = defineRoute(can.operate, {
  method: "post",
  path: "/api/catalog/import",
  operationId: "importCatalog",
  tags: ["Catalogue"],
  summary: "Refresh the product catalogue from Microsoft's CSV (text/csv body); idempotent",
  request: {
    body: { required: true, content: { "text/csv": { schema: z.string().openapi({ format: "binary" }) } } },
  },
  responses: { 200: jsonResponse(CatalogImportResult, "What the import read and added") },
});

export const listPlanRules = defineRoute(can.readLicensing, {
  method: "get",
  path: "/api/plan-rules",
  operationId: "listPlanRules",
  tags: ["Catalogue"],
  summary: "The tenant's service plan rules (exclusive, requires, prohibited_location)",
  responses: { 200: jsonResponse(PlanRuleList, "Plan rules") },
});

export const createPlanRule = defineRoute(can.manageCatalog, {
  method: "post",
  path: "/api/plan-rules",
  operationId: "createPlanRule",
  tags: ["Catalogue"],
  summary: "Add a service plan rule",
  request: { body: jsonBody(PlanRuleSchema) },
  responses: { 201: jsonResponse(StoredPlanRuleSchema, "The rule") },
});

export const deletePlanRule = defineRoute(can.manageCatalog, {
  method: "delete",
  path: "/api/plan-rules/{id}",
  operationId: "deletePlanRule",
  tags: ["Catalogue"],
  summary: "Remove a service plan rule",
  request: { params: PlanRuleIdParam },
  responses: { 204: { description: "Removed" } },
});
