/** The subscriptions capability's wire shapes. */
import { z } from "@hono/zod-openapi";
import { isGuid } from "../core/ids.ts";
import { collectionOf, entityOf } from "../core/openapi.ts";
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

// ---- responses ----

const ServiceStatus = z
  .object({
    servicePlanId: z.string(),
    servicePlanName: z.string(),
    provisioningStatus: z.string(),
    appliesTo: z.string(),
  })
  .strict();

/** Graph's companySubscription: one commercial subscription. */
export const CompanySubscriptionSchema = z
  .object({
    id: z.string(),
    commerceSubscriptionId: z.string(),
    createdDateTime: z.string(),
    isTrial: z.boolean(),
    nextLifecycleDateTime: z.string().nullable(),
    ownerId: z.string().nullable(),
    ownerTenantId: z.string().nullable(),
    ownerType: z.enum(["Company", "User"]),
    serviceStatus: z.array(ServiceStatus),
    skuId: z.string(),
    skuPartNumber: z.string(),
    status: z.enum(subscriptionStatuses),
    totalLicenses: z.number().int(),
  })
  .strict()
  .openapi("CompanySubscription");

export const CompanySubscriptionEntity = entityOf(CompanySubscriptionSchema, "CompanySubscriptionEntity");
export const CompanySubscriptionCollection = collectionOf(CompanySubscriptionSchema, "CompanySubscriptionCollection");

/** Graph's subscribedSku: the tenant's pool of one SKU over all its company subscriptions. */
export const SubscribedSkuSchema = z
  .object({
    id: z.string(),
    accountId: z.string(),
    accountName: z.string(),
    appliesTo: z.string(),
    capabilityStatus: z.enum(subscriptionStatuses),
    consumedUnits: z.number().int(),
    prepaidUnits: z
      .object({
        enabled: z.number().int(),
        warning: z.number().int(),
        suspended: z.number().int(),
        lockedOut: z.number().int(),
      })
      .strict(),
    servicePlans: z.array(ServiceStatus),
    skuId: z.string(),
    skuPartNumber: z.string(),
    subscriptionIds: z.array(z.string()),
  })
  .strict()
  .openapi("SubscribedSku");

export const SubscribedSkuEntity = entityOf(SubscribedSkuSchema, "SubscribedSkuEntity");
export const SubscribedSkuCollection = collectionOf(SubscribedSkuSchema, "SubscribedSkuCollection");

/** A subscription as changed: with a warning when the change left its pool with more seats in use than enabled. */
export const ChangedSubscriptionSchema = CompanySubscriptionSchema.extend({ warning: z.string().optional() }).openapi(
  "ChangedSubscription",
);

export const OverallocationReport = z
  .object({
    pools: z.array(
      z
        .object({
          skuId: z.string(),
          skuPartNumber: z.string(),
          enabledUnits: z.number().int(),
          consumedUnits: z.number().int(),
        })
        .strict(),
    ),
    value: z.array(
      z
        .object({
          id: z.string(),
          skuId: z.string(),
          subscriptionId: z.string(),
          enabledUnits: z.number().int(),
          consumedUnits: z.number().int(),
          createdDateTime: z.string(),
        })
        .strict(),
    ),
  })
  .strict()
  .openapi("OverallocationReport");

export const TenantSubscriptionParams = z.object({
  tenantId: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "tenantId", in: "path" } }),
  id: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const TenantParam = z.object({
  tenantId: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "tenantId", in: "path" } }),
});
