/** The licensing capability's wire shapes: assignLicense's body and what users and groups show of licensing. */
import { z } from "@hono/zod-openapi";
import { isGuid } from "../core/ids.ts";
import { collectionOf } from "../core/openapi.ts";

const skuGuid = z
  .string()
  .refine(isGuid, { message: "Invalid GUID: skuId must be a GUID." })
  .transform((v) => v.toLowerCase());

const planGuid = z
  .string()
  .refine(isGuid, { message: "Invalid GUID: disabledPlans must hold service plan GUIDs." })
  .transform((v) => v.toLowerCase());

export const AssignedLicenseSchema = z
  .object({
    "@odata.type": z.string().optional(),
    skuId: skuGuid,
    disabledPlans: z
      .array(planGuid)
      .max(200)
      .nullish()
      .transform((v) => v ?? []),
  })
  .strict()
  .openapi("AssignedLicense");

/** Both collections are required by Graph (removeLicenses may be empty). */
export const AssignLicenseSchema = z
  .object({
    addLicenses: z.array(AssignedLicenseSchema).max(100),
    removeLicenses: z.array(skuGuid).max(100),
  })
  .strict()
  .openapi("AssignLicenseRequest");

// ---- responses ----

/** Graph's assignedLicense as a user or group shows it. */
export const AssignedLicenseView = z
  .object({ disabledPlans: z.array(z.string()), skuId: z.string() })
  .strict()
  .openapi("AssignedLicenseView");

export const AssignedPlan = z
  .object({
    assignedDateTime: z.string(),
    capabilityStatus: z.string(),
    service: z.string(),
    servicePlanId: z.string(),
  })
  .strict()
  .openapi("AssignedPlan");

export const LicenseAssignmentState = z
  .object({
    assignedByGroup: z.string().nullable(),
    disabledPlans: z.array(z.string()),
    error: z.string(),
    lastUpdatedDateTime: z.string(),
    skuId: z.string(),
    state: z.enum(["Active", "ActiveWithError", "Disabled", "Error"]),
  })
  .strict()
  .openapi("LicenseAssignmentState");

export const ServicePlanInfo = z
  .object({
    servicePlanId: z.string(),
    servicePlanName: z.string(),
    provisioningStatus: z.string(),
    appliesTo: z.string(),
  })
  .strict()
  .openapi("ServicePlanInfo");

export const LicenseDetails = z
  .object({
    id: z.string(),
    skuId: z.string(),
    skuPartNumber: z.string().nullable(),
    servicePlans: z.array(ServicePlanInfo),
  })
  .strict()
  .openapi("LicenseDetails");

export const LicenseDetailsCollection = collectionOf(LicenseDetails.partial(), "LicenseDetailsCollection");
