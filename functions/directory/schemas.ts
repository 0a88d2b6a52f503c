/** The users' wire shapes. */
import { z } from "@hono/zod-openapi";
import { INVALID_USAGE_LOCATION, isAssignedCountryCode } from "../core/countries.ts";
import { collectionOf, entityOf, graphCheck } from "../core/openapi.ts";
import { AssignedLicenseView, AssignedPlan, LicenseAssignmentState } from "../licensing/schemas.ts";
import { type UserField, userFields, type WritableUserField } from "./user-fields.ts";

// ISO 3166-1 alpha-2 as assigned (so not ZZ, UK or EU), any case on the wire, stored upper case.
const usageLocation = graphCheck(
  z.string().transform((v) => v.toUpperCase()),
  isAssignedCountryCode,
  INVALID_USAGE_LOCATION,
);

const text = (max: number) => z.string().trim().min(1).max(max);
const optionalText = (max: number) => z.string().trim().max(max).nullable().optional();

// Its shape and domain are judged by the verb (directory/upn.ts), which knows the tenant's verified domains and answers
// in Graph's words; the wire only bounds it.
const userPrincipalName = z.string().trim().min(1).max(113);

// Accepted as Graph SDKs send it, then dropped: seatflow never stores or returns a password.
const passwordProfile = z
  .object({
    password: z.string().optional(),
    forceChangePasswordNextSignIn: z.boolean().optional(),
    forceChangePasswordNextSignInWithMfa: z.boolean().optional(),
  })
  .strict()
  .optional();

/** A validator for every writable property (user-fields.ts says which), plus what Graph SDKs send besides. */
const userValidators = {
  "@odata.type": z.literal("#microsoft.graph.user").optional(),
  accountEnabled: z.boolean(),
  displayName: text(256),
  mailNickname: text(64).regex(
    /^[^\s@()<>[\]\\,;:"]+$/,
    "Invalid value specified for property 'mailNickname' of resource 'User'.",
  ),
  userPrincipalName,
  passwordProfile,
  givenName: optionalText(64),
  surname: optionalText(64),
  mail: z.string().trim().max(256).email().nullable().optional(),
  usageLocation: usageLocation.nullable().optional(),
  userType: z.enum(["Member", "Guest"]).optional(),
  department: optionalText(64),
  country: optionalText(128),
  jobTitle: optionalText(128),
  companyName: optionalText(64),
  employeeId: optionalText(16),
} satisfies Record<WritableUserField, z.ZodType> & Record<string, z.ZodType>;

export const CreateUserSchema = z.object(userValidators).strict().openapi("CreateUser");

export const UpdateUserSchema = z
  .object({
    ...userValidators,
    accountEnabled: userValidators.accountEnabled.optional(),
    displayName: userValidators.displayName.optional(),
    mailNickname: userValidators.mailNickname.optional(),
    userPrincipalName: userValidators.userPrincipalName.optional(),
  })
  .strict()
  .openapi("UpdateUser");
export type UpdateUserInput = z.infer<typeof UpdateUserSchema>;

export const UserRefParam = z.object({
  id: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: "id", in: "path" }, description: "User id or userPrincipalName" }),
});

// ---- responses ----

const nullableText = z.string().nullable();

/** Each user property's wire type, derived from user-fields.ts (licensing's from its own schemas). */
const userPropertyShape: Record<UserField["kind"], z.ZodType> = {
  guid: z.string(),
  string: nullableText,
  boolean: z.boolean(),
  datetime: nullableText,
  stringList: z.array(z.string()),
  licensing: z.never(),
};
const licensingShapes: Record<string, z.ZodType> = {
  assignedLicenses: z.array(AssignedLicenseView),
  assignedPlans: z.array(AssignedPlan),
  licenseAssignmentStates: z.array(LicenseAssignmentState),
};

/**
 * Graph's user, every property optional: what a response holds follows $select (or Graph's default set). Strict, so a
 * property the contract does not list can't slip onto the wire.
 */
export const UserSchema = z
  .object(
    Object.fromEntries(
      userFields.map((f) => [f.graph, (licensingShapes[f.graph] ?? userPropertyShape[f.kind]).optional()]),
    ),
  )
  .strict()
  .openapi("User");

export type User = z.infer<typeof UserSchema>;

export const UserEntity = entityOf(UserSchema, "UserEntity");
export const UserCollection = collectionOf(UserSchema, "UserCollection");

/** A user among directoryObjects (group members, members with license errors). */
export const DirectoryUser = UserSchema.extend({ "@odata.type": z.literal("#microsoft.graph.user") }).openapi(
  "DirectoryUser",
);
export const DirectoryUserCollection = collectionOf(DirectoryUser, "DirectoryUserCollection");

/** A user of the recycle bin, as Graph shows directory/deletedItems: a directoryObject cast to user. */
export const DeletedUserEntity = entityOf(DirectoryUser, "DeletedUserEntity");
export const DeletedUserCollection = collectionOf(DirectoryUser, "DeletedUserCollection");

export const DeletedItemParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, description: "The deleted user's id" }),
});

export const RestoreUserSchema = z
  .object({
    newUserPrincipalName: userPrincipalName.optional(),
    /** Accepted as Graph documents it; seatflow keeps no proxy addresses, so there is nothing to reconcile. */
    autoReconcileProxyConflict: z.boolean().optional(),
  })
  .strict()
  .openapi("RestoreDeletedItem");
