/** The catalogue capability's wire shapes. */
import { z } from "@hono/zod-openapi";
import { isGuid } from "../core/ids.ts";

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

export const PlanRuleIdParam = z.object({ id: z.string().min(1).max(64) });
