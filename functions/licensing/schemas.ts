import { z } from "@hono/zod-openapi";
import { isGuid } from "../core/ids.ts";

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
