/** The groups' wire shapes. */
import { z } from "@hono/zod-openapi";
import { collectionOf, entityOf } from "../core/openapi.ts";
import { AssignedLicenseView } from "../licensing/schemas.ts";

const bindUrl = z
  .string()
  .max(2048)
  .regex(/\/(directoryObjects|users)\/[^/]+$/i, "Expected a directoryObjects or users URL.");

const groupFields = {
  "@odata.type": z.literal("#microsoft.graph.group").optional(),
  displayName: z.string().trim().min(1).max(256),
  description: z.string().max(1024).nullable().optional(),
  mailEnabled: z.boolean(),
  mailNickname: z.string().trim().min(1).max(64),
  securityEnabled: z.boolean(),
  groupTypes: z
    .array(z.enum(["Unified", "DynamicMembership"]))
    .max(2)
    .optional(),
  membershipRule: z
    .string()
    .max(3072, "Membership rule exceeds the maximum length of 3072 characters.")
    .nullable()
    .optional(),
  membershipRuleProcessingState: z.enum(["On", "Paused"]).nullable().optional(),
  "members@odata.bind": z.array(bindUrl).max(20, "You can add up to only 20 members in one request.").optional(),
};

export const CreateGroupSchema = z.object(groupFields).strict().openapi("CreateGroup");

export const UpdateGroupSchema = z
  .object({
    ...groupFields,
    displayName: groupFields.displayName.optional(),
    mailEnabled: groupFields.mailEnabled.optional(),
    mailNickname: groupFields.mailNickname.optional(),
    securityEnabled: groupFields.securityEnabled.optional(),
  })
  .strict()
  .openapi("UpdateGroup");

export const AddMemberSchema = z.object({ "@odata.id": bindUrl }).strict().openapi("MemberReference");

export const GroupIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});
export const MemberParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
  userId: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: "userId", in: "path" } }),
});

export const groupSelectable = [
  "id",
  "displayName",
  "description",
  "mailEnabled",
  "mailNickname",
  "securityEnabled",
  "groupTypes",
  "membershipRule",
  "membershipRuleProcessingState",
  "createdDateTime",
  "mail",
  "assignedLicenses",
  "licenseProcessingState",
  "membershipRuleProcessingStatus",
] as const;

/** Graph's navigation properties of a group (microsoft.graph.group): what `$expand` could name; none is expanded. */
export const groupNavigation: readonly string[] = [
  "acceptedSenders",
  "appRoleAssignments",
  "calendar",
  "conversations",
  "createdOnBehalfOf",
  "drive",
  "events",
  "extensions",
  "memberOf",
  "members",
  "membersWithLicenseErrors",
  "owners",
  "photo",
  "rejectedSenders",
  "sites",
  "team",
  "threads",
  "transitiveMemberOf",
  "transitiveMembers",
];

/** Without $select: everything but the licensing properties, which Graph returns only when selected. */
export const groupDefaultSelect: string[] = groupSelectable.filter(
  (p) => p !== "assignedLicenses" && p !== "licenseProcessingState" && p !== "membershipRuleProcessingStatus",
);

/** The object id at the end of an @odata.id / members@odata.bind URL. */
export const idFromBindUrl = (url: string) => decodeURIComponent(url.split("/").pop() ?? "");

// ---- responses ----

/** Graph's group, every property optional (a response holds what $select asks for, or the default set). */
export const GroupSchema = z
  .object({
    id: z.string(),
    createdDateTime: z.string(),
    description: z.string().nullable(),
    displayName: z.string(),
    groupTypes: z.array(z.string()),
    mail: z.string().nullable(),
    mailEnabled: z.boolean(),
    mailNickname: z.string().nullable(),
    membershipRule: z.string().nullable(),
    membershipRuleProcessingState: z.string().nullable(),
    securityEnabled: z.boolean(),
    assignedLicenses: z.array(AssignedLicenseView),
    licenseProcessingState: z
      .object({ state: z.enum(["QueuedForProcessing", "ProcessingInProgress", "ProcessingComplete"]) })
      .strict()
      .nullable(),
    membershipRuleProcessingStatus: z
      .object({ status: z.enum(["NotStarted", "Running", "Succeeded"]) })
      .strict()
      .nullable(),
  })
  .partial()
  .strict()
  .openapi("Group");

export type Group = z.infer<typeof GroupSchema>;

export const GroupEntity = entityOf(GroupSchema, "GroupEntity");
export const GroupCollection = collectionOf(GroupSchema, "GroupCollection");
export const DirectoryGroup = GroupSchema.extend({ "@odata.type": z.literal("#microsoft.graph.group") }).openapi(
  "DirectoryGroup",
);
export const DirectoryGroupCollection = collectionOf(DirectoryGroup, "DirectoryGroupCollection");
