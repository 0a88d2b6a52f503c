import { isGuid } from "../core/ids.ts";
import { defineRoute, GraphCollection, GraphObject, jsonBody, jsonResponse, z } from "../core/openapi.ts";
import { can } from "../core/roles.ts";

const planGuid = z
  .string()
  .refine(isGuid, "Must be a service plan GUID.")
  .transform((v) => v.toLowerCase());

export const PlanRuleSchema = z
  .object({
    kind: z.enum(["exclusive", "requires", "prohibited_location"]),
    servicePlanId: planGuid,
    relatedServicePlanIds: z.array(planGuid).max(50).optional(),
    usageLocation: z
      .string()
      .regex(/^[A-Za-z]{2}$/, "usageLocation must be a two-letter country code.")
      .nullable()
      .optional(),
    description: z.string().max(500).optional(),
  })
  .strict()
  .openapi("PlanRule");

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
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: { 204: { description: "Removed" } },
});
