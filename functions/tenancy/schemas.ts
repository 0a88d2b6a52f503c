/** The tenancy capability's wire shapes. */
import { z } from "@hono/zod-openapi";
import { roles } from "../core/context.ts";

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
