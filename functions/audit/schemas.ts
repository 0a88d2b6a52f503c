/** The audit log's wire shapes: Graph's directoryAudit. */
import { z } from "@hono/zod-openapi";
import { collectionOf } from "../core/openapi.ts";

const App = z
  .object({
    appId: z.string().nullable(),
    displayName: z.string(),
    servicePrincipalId: z.string().nullable(),
    servicePrincipalName: z.string(),
  })
  .strict();

const ModifiedProperty = z
  .object({ displayName: z.string(), oldValue: z.string().nullable(), newValue: z.string().nullable() })
  .strict();

const TargetResource = z
  .object({
    id: z.string(),
    displayName: z.string().nullable(),
    type: z.string(),
    userPrincipalName: z.string().nullable(),
    modifiedProperties: z.array(ModifiedProperty),
  })
  .strict();

export const DirectoryAuditSchema = z
  .object({
    id: z.string(),
    category: z.string(),
    correlationId: z.string(),
    result: z.enum(["success", "failure"]),
    resultReason: z.string(),
    activityDisplayName: z.string(),
    activityDateTime: z.string(),
    loggedByService: z.string(),
    operationType: z.string(),
    // Graph's auditActivityInitiator names an app or a user; seatflow's actors are all apps (keys, HR sources, itself).
    initiatedBy: z.object({ app: App.optional(), user: z.record(z.string(), z.unknown()).optional() }).strict(),
    targetResources: z.array(TargetResource),
    additionalDetails: z.array(z.object({ key: z.string(), value: z.string() }).strict()),
  })
  .strict()
  .openapi("DirectoryAudit");

export type DirectoryAudit = z.infer<typeof DirectoryAuditSchema>;

export const DirectoryAuditCollection = collectionOf(DirectoryAuditSchema, "DirectoryAuditCollection");
