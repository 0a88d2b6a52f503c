/** The tenancy capability's wire shapes. */
import { z } from "@hono/zod-openapi";
import { roles } from "../core/context.ts";
import { INVALID_COUNTRY, isAssignedCountryCode } from "../core/countries.ts";
import { collectionOf, entityOf, graphCheck } from "../core/openapi.ts";

export const CreateTenantSchema = z
  .object({
    displayName: z.string().trim().min(1).max(256),
    country: graphCheck(z.string(), (v) => isAssignedCountryCode(v.toUpperCase()), INVALID_COUNTRY),
    /** Verified domains besides the initial one (the first becomes the default). */
    domains: z.array(z.string().min(1).max(253)).max(20).optional(),
    /** Whether the tenant's own GlobalAdministrators may buy and change seats. */
    selfServiceSubscriptions: z.boolean().optional(),
  })
  .strict()
  .openapi("CreateTenant");

/** The installation's first operator tenant: a tenant's creation without the seat-selling switch (operators sell). */
export const BootstrapSchema = CreateTenantSchema.omit({ selfServiceSubscriptions: true }).openapi("Bootstrap");

export const CreateKeySchema = z
  .object({ role: z.enum(roles), name: z.string().trim().min(1).max(128).optional() })
  .strict()
  .openapi("CreateApiKey");

export const KeyIdParam = z.object({ id: z.string().min(1).max(64) });

// ---- responses ----

export const OrganizationSchema = z
  .object({ id: z.string(), displayName: z.string(), countryLetterCode: z.string(), createdDateTime: z.string() })
  .strict()
  .openapi("Organization");

export const OrganizationCollection = collectionOf(OrganizationSchema, "OrganizationCollection");

/** A tenant as created, with its first GlobalAdministrator key (shown once). */
export const CreatedTenant = z
  .object({
    id: z.string(),
    displayName: z.string(),
    country: z.string(),
    allowGuestsInLicensedGroups: z.boolean(),
    isOperator: z.boolean(),
    selfServiceSubscriptions: z.boolean(),
    licensingVersion: z.number().int(),
    createdAt: z.string(),
    adminKey: z.string(),
  })
  .strict()
  .openapi("CreatedTenant");

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(roles),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .strict()
  .openapi("ApiKey");

export const ApiKeyList = z
  .object({ value: z.array(ApiKeySchema) })
  .strict()
  .openapi("ApiKeyList");

/** A key just issued: its secret appears here once and is never stored. */
export const IssuedKeySchema = z
  .object({
    id: z.string(),
    key: z.string(),
    role: z.enum(roles),
    name: z.string(),
    tenantId: z.string(),
    createdAt: z.string(),
  })
  .strict()
  .openapi("IssuedKey");

export const DomainSchema = z
  .object({
    id: z.string(),
    authenticationType: z.literal("Managed"),
    availabilityStatus: z.string().nullable(),
    isAdminManaged: z.boolean(),
    isDefault: z.boolean(),
    isInitial: z.boolean(),
    isRoot: z.boolean(),
    isVerified: z.boolean(),
    passwordNotificationWindowInDays: z.number().int().nullable(),
    passwordValidityPeriodInDays: z.number().int().nullable(),
    supportedServices: z.array(z.string()),
  })
  .strict()
  .openapi("Domain");

export const DomainEntity = entityOf(DomainSchema, "DomainEntity");
export const DomainCollection = collectionOf(DomainSchema, "DomainCollection");

export const AddDomainSchema = z
  .object({
    id: z.string().min(1).max(253).openapi({ description: "The domain name, e.g. contoso.example" }),
    isDefault: z.boolean().optional(),
  })
  .strict()
  .openapi("AddDomain");

export const DomainIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(253)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const SettingsSchema = z
  .object({ allowGuestsInLicensedGroups: z.boolean(), selfServiceSubscriptions: z.boolean() })
  .strict()
  .openapi("TenantSettings");

export const UpdateSettingsSchema = z
  .object({ allowGuestsInLicensedGroups: z.boolean() })
  .partial()
  .strict()
  .openapi("UpdateTenantSettings");

export const UpdateTenantSchema = z.object({ selfServiceSubscriptions: z.boolean() }).strict().openapi("UpdateTenant");

export const TenantIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const TenantSchema = CreatedTenant.omit({ adminKey: true }).openapi("Tenant");
