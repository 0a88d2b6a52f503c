/** The catalogue capability's route contracts. */
import { defineRoute, GraphCollection, GraphObject, jsonBody, jsonResponse, z } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import { PlanRuleIdParam, PlanRuleSchema } from "./schemas.ts";

export const importCatalog = defineRoute(can.operate, {
  method: "post",
  path: "/api/catalog/import",
  tags: ["Catalogue"],
  summary: "Refresh the product catalogue from Microsoft's CSV (text/csv body); idempotent",
  request: {
    body: { required: true, content: { "text/csv": { schema: z.string().openapi({ format: "binary" }) } } },
  },
  responses: { 200: jsonResponse(GraphObject, "What the import read and added") },
});

export const listPlanRules = defineRoute(can.readLicensing, {
  method: "get",
  path: "/api/plan-rules",
  tags: ["Catalogue"],
  summary: "The tenant's service plan rules (exclusive, requires, prohibited_location)",
  responses: { 200: jsonResponse(GraphCollection, "Plan rules") },
});

export const createPlanRule = defineRoute(can.manageCatalog, {
  method: "post",
  path: "/api/plan-rules",
  tags: ["Catalogue"],
  summary: "Add a service plan rule",
  request: { body: jsonBody(PlanRuleSchema) },
  responses: { 201: jsonResponse(GraphObject, "The rule") },
});

export const deletePlanRule = defineRoute(can.manageCatalog, {
  method: "delete",
  path: "/api/plan-rules/{id}",
  tags: ["Catalogue"],
  summary: "Remove a service plan rule",
  request: { params: PlanRuleIdParam },
  responses: { 204: { description: "Removed" } },
});
