/** The users' wire shapes. */
import { z } from "@hono/zod-openapi";
import type { WritableUserField } from "./user-fields.ts";

const usageLocation = z
  .string()
  .regex(/^[A-Za-z]{2}$/, "Invalid value specified for property 'usageLocation' of resource 'User'.")
  .transform((v) => v.toUpperCase());

const text = (max: number) => z.string().trim().min(1).max(max);
const optionalText = (max: number) => z.string().trim().max(max).nullable().optional();

const userPrincipalName = z
  .string()
  .trim()
  .max(113)
  .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "Invalid value specified for property 'userPrincipalName' of resource 'User'.");

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
const userFields = {
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

export const CreateUserSchema = z.object(userFields).strict().openapi("CreateUser");

export const UpdateUserSchema = z
  .object({
    ...userFields,
    accountEnabled: userFields.accountEnabled.optional(),
    displayName: userFields.displayName.optional(),
    mailNickname: userFields.mailNickname.optional(),
    userPrincipalName: userFields.userPrincipalName.optional(),
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
