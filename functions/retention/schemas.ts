/** Retention's wire shapes: mailboxes, items, labels, OneDrive, settings, the purge's preview, ledger and runs. */
import { z } from "@hono/zod-openapi";
import { isGuid } from "../core/ids.ts";
import { collectionOf } from "../core/openapi.ts";
import { AssignLicenseSchema } from "../licensing/schemas.ts";
import { windows } from "./rules.ts";

export const UserRefParam = z.object({
  id: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: "id", in: "path" }, description: "User id or userPrincipalName" }),
});

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

const mailboxStates = ["Active", "Disconnected", "Inactive", "Purged"] as const;

export const MailboxSchema = z
  .object({
    userId: z.string(),
    state: z.enum(mailboxStates),
    /** Disconnected: the first instant the purge may delete (reconnecting must come before it). */
    purgeAfter: z.string().nullable(),
    searchable: z.boolean(),
    litigationHold: z.boolean(),
    itemCount: z.number().int(),
    sizeBytes: z.number().int(),
  })
  .strict()
  .openapi("Mailbox");
export const MailboxCollection = collectionOf(MailboxSchema, "MailboxCollection");

export const MailboxListQuery = z.object({
  state: z.enum(mailboxStates).optional(),
  litigationHold: z.enum(["true", "false"]).optional(),
  $top: z.string().optional().openapi({ description: "Page size, 1-999 (default 100)" }),
  $skiptoken: z.string().optional(),
});

export const PageQuery = z.object({
  $top: z.string().optional().openapi({ description: "Page size, 1-999 (default 100)" }),
  $skiptoken: z.string().optional(),
});

export const UpdateMailboxSchema = z.object({ litigationHold: z.boolean() }).strict().openapi("UpdateMailbox");

const guid = z.string().refine(isGuid, "must be a GUID");

export const MailboxItemSchema = z
  .object({
    id: z.string(),
    subject: z.string(),
    sizeBytes: z.number().int(),
    receivedDateTime: z.string(),
    retentionLabelId: z.string().nullable(),
    labeledDateTime: z.string().nullable(),
    /** The end of what the item's label keeps (the purge may delete it from then on); null without a label. */
    retainedUntil: z.string().nullable(),
  })
  .strict()
  .openapi("MailboxItem");
export const MailboxItemCollection = collectionOf(MailboxItemSchema, "MailboxItemCollection");

export const NewItemsSchema = z
  .object({
    items: z
      .array(
        z
          .object({
            subject: z.string().trim().min(1).max(255),
            sizeBytes: z.number().int().min(1).max(157_286_400),
            receivedDateTime: z.string().datetime({ offset: true }).optional(),
            retentionLabelId: guid.nullable().optional(),
          })
          .strict(),
      )
      .min(1)
      .max(100),
  })
  .strict()
  .openapi("NewMailboxItems");

export const ApplyLabelSchema = z
  .object({
    /** The label to apply, or null to take the items' label off. */
    retentionLabelId: guid.nullable(),
    itemIds: z
      .array(z.string().regex(/^[1-9]\d{0,15}$/, "an item id"))
      .min(1)
      .max(1000),
  })
  .strict()
  .openapi("ApplyRetentionLabel");

export const RetentionLabelSchema = z
  .object({
    id: z.string(),
    displayName: z.string(),
    retentionDays: z.number().int(),
    createdDateTime: z.string(),
    isInUse: z.boolean(),
  })
  .strict()
  .openapi("RetentionLabel");
export const RetentionLabelCollection = collectionOf(RetentionLabelSchema, "RetentionLabelCollection");

export const CreateLabelSchema = z
  .object({
    displayName: z.string().trim().min(1).max(64),
    retentionDays: z.number().int().min(1).max(windows.labelMaxDays),
  })
  .strict()
  .openapi("CreateRetentionLabel");

export const OneDriveSchema = z
  .object({
    userId: z.string(),
    state: z.enum(["Active", "Retained", "Purged"]),
    /** Retained: when the purge deletes it (the user's deletion plus the tenant's OneDrive retention then). */
    purgeAfter: z.string().nullable(),
    createdDateTime: z.string(),
  })
  .strict()
  .openapi("OneDrive");

export const RetentionSettingsSchema = z
  .object({ oneDriveRetentionDays: z.number().int() })
  .strict()
  .openapi("RetentionSettings");
export const UpdateRetentionSettingsSchema = z
  .object({ oneDriveRetentionDays: z.number().int().min(windows.oneDriveMinDays).max(windows.oneDriveMaxDays) })
  .strict()
  .openapi("UpdateRetentionSettings");

// ---- the purge ---------------------------------------------------------------------------------------------------

export const PreviewQuery = z.object({
  date: z.string().optional().openapi({ description: "YYYY-MM-DD (UTC); today when absent" }),
  $top: z.string().optional(),
  $skiptoken: z.string().optional(),
});

export const PurgePreviewSchema = z
  .object({
    date: z.string(),
    "@odata.nextLink": z.string().optional(),
    mailboxes: z.array(
      z
        .object({
          userId: z.string(),
          purgeAfter: z.string(),
          itemsToDelete: z.number().int(),
          itemsKept: z.number().int(),
          keptBy: z.array(z.string()),
        })
        .strict(),
    ),
  })
  .strict()
  .openapi("PurgePreview");

const held = z.object({ mailboxes: z.number().int(), items: z.number().int(), bytes: z.number().int() }).strict();

export const LedgerEntrySchema = z
  .object({
    id: z.string(),
    trigger: z.enum(["scheduled", "api"]),
    dryRun: z.boolean(),
    /** The run's clock: what was due by then. */
    asOf: z.string(),
    state: z.enum(["Running", "Complete"]),
    startedDateTime: z.string(),
    finishedDateTime: z.string().nullable(),
    mailboxes: z.number().int(),
    mailboxesPurged: z.number().int(),
    itemsPurged: z.number().int(),
    bytesPurged: z.number().int(),
    oneDriveSitesPurged: z.number().int(),
    usersDeleted: z.number().int(),
    /** What holds kept: whole mailboxes (litigation holds, inactive mailboxes) and items kept by each label. */
    blocked: z
      .object({
        litigationHold: held,
        inactiveMailbox: held,
        labels: z.array(
          z
            .object({
              retentionLabelId: z.string().nullable(),
              displayName: z.string().nullable(),
              items: z.number().int(),
              bytes: z.number().int(),
            })
            .strict(),
        ),
      })
      .strict(),
  })
  .strict()
  .openapi("PurgeLedgerEntry");
export const LedgerCollection = collectionOf(LedgerEntrySchema, "PurgeLedgerCollection");

export const RunPurgeSchema = z.object({ dryRun: z.boolean().optional() }).strict().openapi("RunPurge");

// ---- the impact preview of a licensing change ----------------------------------------------------------------------

// What the real assignLicense takes, with its limits and its lower-casing, so a preview reads a request as the change would.
const licenseList = AssignLicenseSchema.shape;
const ids = z.array(guid).max(100);

export const LicensingPreviewRequest = z
  .discriminatedUnion("change", [
    z.object({ change: z.literal("userAssignLicense"), userId: z.string().min(1).max(256), ...licenseList }).strict(),
    z.object({ change: z.literal("groupAssignLicense"), groupId: guid, ...licenseList }).strict(),
    z
      .object({ change: z.literal("groupMembers"), groupId: guid, add: ids.default([]), remove: ids.default([]) })
      .strict(),
    z
      .object({ change: z.literal("membershipRule"), groupId: guid, membershipRule: z.string().min(1).max(3072) })
      .strict(),
  ])
  .openapi("LicensingPreviewRequest");

export const LicensingPreviewSchema = z
  .object({
    change: z.enum(["userAssignLicense", "groupAssignLicense", "groupMembers", "membershipRule"]),
    /** False when the change reaches more users than a preview examines (the counts cover those examined). */
    complete: z.boolean(),
    usersExamined: z.number().int(),
    /** What the change itself would answer instead of doing anything (a 400's reason and text). */
    refusal: z.object({ reason: z.string().nullable(), message: z.string() }).strict().nullable(),
    summary: z
      .object({
        usersChanged: z.number().int(),
        usersWithNewErrors: z.number().int(),
        mailboxesCreated: z.number().int(),
        mailboxesDisconnected: z.number().int(),
        mailboxesReconnected: z.number().int(),
        mailboxesInactivated: z.number().int(),
      })
      .strict(),
    seats: z.array(
      z
        .object({
          skuId: z.string(),
          enabledUnits: z.number().int(),
          consumedBefore: z.number().int(),
          consumedAfter: z.number().int(),
        })
        .strict(),
    ),
    users: z.array(
      z
        .object({
          userId: z.string(),
          userPrincipalName: z.string(),
          skusGained: z.array(z.string()),
          skusLost: z.array(z.string()),
          plansGained: z.array(z.string()),
          plansLost: z.array(z.string()),
          errors: z.array(z.object({ skuId: z.string(), sourceId: z.string(), error: z.string() }).strict()),
          mailbox: z
            .object({
              outcome: z.enum(["create", "disconnect", "reconnect", "inactivate"]),
              stateBefore: z.enum(mailboxStates).nullable(),
              stateAfter: z.enum(mailboxStates),
              /** A disconnect's countdown: the mailbox is purged from then on unless Exchange comes back. */
              purgeAfter: z.string().nullable(),
            })
            .strict()
            .nullable(),
        })
        .strict(),
    ),
    usersTruncated: z.boolean(),
  })
  .strict()
  .openapi("LicensingPreview");
