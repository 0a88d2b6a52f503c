/** The subscriptions capability's wire shapes. */
import { z } from "@hono/zod-openapi";
import { isGuid } from "../core/ids.ts";
import { subscriptionStatuses } from "./rules.ts";

const seats = z.number().int().min(0).max(10_000_000);
const isoDate = z.string().datetime({ offset: true });

export const CreateSubscriptionSchema = z
  .object({
    skuId: z.string().refine(isGuid, "skuId must be a GUID.").optional(),
    skuPartNumber: z.string().min(1).max(128).optional(),
    totalLicenses: seats,
    isTrial: z.boolean().optional(),
    ownerType: z.enum(["Company", "User"]).optional(),
    ownerId: z.string().max(256).nullable().optional(),
    status: z.enum(subscriptionStatuses).optional(),
    nextLifecycleDateTime: isoDate.nullable().optional(),
  })
  .strict()
  .refine((v) => v.skuId !== undefined || v.skuPartNumber !== undefined, {
    message: "Either skuId or skuPartNumber is required.",
    path: ["skuId"],
  })
  .openapi("CreateSubscription");

export const UpdateSubscriptionSchema = z
  .object({
    totalLicenses: seats.optional(),
    status: z.enum(subscriptionStatuses).optional(),
    nextLifecycleDateTime: isoDate.nullable().optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, {
    message: "Nothing to change: give totalLicenses, status or nextLifecycleDateTime.",
  })
  .openapi("UpdateSubscription");

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: "id", in: "path" } }),
});
