/** The tenancy capability's wire shapes. */
import { z } from "@hono/zod-openapi";
import { roles } from "../core/context.ts";
import { collectionOf } from "../core/openapi.ts";

export const CreateTenantSchema = z
  .object({
    displayName: z.string().trim().min(1).max(256),
    country: z.string().regex(/^[A-Za-z]{2}$/, "country must be a two-letter ISO 3166 code."),
  })
  .strict()
  .openapi("CreateTenant");

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
