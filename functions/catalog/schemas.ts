/** The catalogue capability's wire shapes. */
import { z } from "@hono/zod-openapi";
import { INVALID_USAGE_LOCATION, isAssignedCountryCode } from "../core/countries.ts";
import { isGuid } from "../core/ids.ts";
import { graphCheck } from "../core/openapi.ts";

const planGuid = z
  .string()
  .refine(isGuid, "Must be a service plan GUID.")
  .transform((v) => v.toLowerCase());

export const PlanRuleSchema = z
  .object({
    kind: z.enum(["exclusive", "requires", "prohibited_location"]),
    servicePlanId: planGuid,
    relatedServicePlanIds: z.array(planGuid).max(50).optional(),
    usageLocation: graphCheck(z.string(), (v) => isAssignedCountryCode(v.toUpperCase()), INVALID_USAGE_LOCATION)
      .nullable()
      .optional(),
    description: z.string().max(500).optional(),
  })
  .strict()
  .openapi("PlanRule");

export const PlanRuleIdParam = z.object({ id: z.string().min(1).max(64) });

// ---- responses ----

export const CatalogImportResult = z
  .object({
    rows: z.number().int(),
    products: z.number().int(),
    servicePlans: z.number().int(),
    added: z
      .object({ skus: z.number().int(), servicePlans: z.number().int(), skuServicePlans: z.number().int() })
      .strict(),
  })
  .strict()
  .openapi("CatalogImportResult");

export const StoredPlanRuleSchema = z
  .object({
    id: z.string(),
    kind: z.enum(["exclusive", "requires", "prohibited_location"]),
    servicePlanId: z.string(),
    relatedServicePlanIds: z.array(z.string()),
    usageLocation: z.string().nullable(),
    description: z.string(),
    createdAt: z.string(),
  })
  .strict()
  .openapi("StoredPlanRule");

export const PlanRuleList = z
  .object({ value: z.array(StoredPlanRuleSchema) })
  .strict()
  .openapi("PlanRuleList");
