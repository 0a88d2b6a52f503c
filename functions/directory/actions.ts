/** The user verbs: create and update users, and read them. Deleting a user is a lifecycle verb (it frees licenses). */
import { type AuditEntry, auditStatement } from "../audit/store.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { invalid, notFound, uniqueness } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { can } from "../core/roles.ts";
import { isGuardFailure, isUniqueViolation } from "../core/sql.ts";
import { followUp, sendFollowUps } from "../jobs/outbox.ts";
import { verifiedDomainNames } from "../tenancy/store.ts";
import {
  countUsers as countStoredUsers,
  findDeletedUser,
  findUser,
  holdsDirectLicense,
  insertUserStatement,
  listDeletedUsers as listStoredDeletedUsers,
  listUsers as listStoredUsers,
  noDirectLicenseGuard,
  type UserListQuery,
  type UserRow,
  updateUserStatement,
} from "./store.ts";
import { checkUserPrincipalName } from "./upn.ts";
import { keyOf, type WritableUserField, writableUserFields } from "./user-fields.ts";

/** The properties a user is created with (Graph's create body, as validated). */
export type CreateUserInput = {
  accountEnabled: boolean;
  displayName: string;
  mailNickname: string;
  userPrincipalName: string;
  givenName?: string | null | undefined;
  surname?: string | null | undefined;
  mail?: string | null | undefined;
  usageLocation?: string | null | undefined;
  userType?: "Member" | "Guest" | undefined;
  department?: string | null | undefined;
  country?: string | null | undefined;
  jobTitle?: string | null | undefined;
  companyName?: string | null | undefined;
  employeeId?: string | null | undefined;
};

export type UserChanges = Partial<Record<WritableUserField, unknown>>;

export const upnTaken = () =>
  uniqueness("userPrincipalName", "Another object with the same value for property userPrincipalName already exists.");
const LOCATION_NEEDED =
  "The usageLocation of a user with directly assigned licenses cannot be cleared: licenses need a usage location. Set another location, or remove the user's direct licenses first.";
const locationNeeded = () =>
  invalid(LOCATION_NEEDED, {
    reason: "usageLocationRequired",
    fields: [{ field: "usageLocation", message: LOCATION_NEEDED }],
  });

export const userTarget = (
  user: Pick<UserRow, "id" | "displayName" | "userPrincipalName">,
  modifiedProperties: AuditEntry["targets"][number]["modifiedProperties"] = [],
) => ({
  id: user.id,
  displayName: user.displayName,
  userPrincipalName: user.userPrincipalName,
  type: "User" as const,
  modifiedProperties,
});

/** Refuses a userPrincipalName Entra would refuse: malformed, or outside the tenant's verified domains. */
export async function checkUpn(ctx: Ctx, upn: string) {
  const check = checkUserPrincipalName(upn, await verifiedDomainNames(ctx.d1, ctx.tenantId));
  if (!check.ok) {
    throw invalid(check.message, {
      reason: check.reason,
      fields: [{ field: "userPrincipalName", message: check.message }],
    });
  }
}

/** Users arrive with no license: nothing is assigned implicitly except through groups (rule 12). */
export async function createUser({ ctx, input }: { ctx: Ctx; input: CreateUserInput }): Promise<UserRow> {
  requireRole(ctx, can.manageUsers);
  await checkUpn(ctx, input.userPrincipalName);
  const now = ctx.now.toISOString();
  const user: UserRow = {
    seq: 0, // given by the insert below
    id: newId(),
    tenantId: ctx.tenantId,
    userPrincipalName: input.userPrincipalName.toLowerCase(),
    displayName: input.displayName,
    mailNickname: input.mailNickname,
    givenName: input.givenName ?? null,
    surname: input.surname ?? null,
    mail: input.mail ?? null,
    usageLocation: input.usageLocation ?? null,
    userType: input.userType ?? "Member",
    accountEnabled: input.accountEnabled,
    department: input.department ?? null,
    country: input.country ?? null,
    jobTitle: input.jobTitle ?? null,
    companyName: input.companyName ?? null,
    employeeId: input.employeeId ?? null,
    createdAt: now,
    updatedAt: now,
    deletedAt: null,
    licenseVersion: 0,
  };
  // Dynamic groups may take the new user in: weighed after the batch, from the outbox row written with it.
  const reevaluate = followUp(ctx, { kind: "userChanged", userIds: [user.id] });
  try {
    const [inserted] = await ctx.d1.batch<{ seq: number }>([
      insertUserStatement(ctx.d1, user),
      auditStatement(ctx, {
        activity: "Add user",
        category: "UserManagement",
        operationType: "Add",
        targets: [userTarget(user)],
      }),
      ...reevaluate.statements,
    ]);
    user.seq = Number(inserted?.results[0]?.seq);
  } catch (error) {
    if (isUniqueViolation(error)) throw upnTaken();
    throw error;
  }
  await sendFollowUps(ctx, [reevaluate.id]);
  return user;
}

export async function updateUser({ ctx, input }: { ctx: Ctx; input: { userRef: string; changes: UserChanges } }) {
  requireRole(ctx, can.manageUsers);
  const user = await findUser(ctx.d1, ctx.tenantId, input.userRef);
  if (!user) throw notFound(input.userRef);
  const changes: UserChanges = {};
  for (const field of writableUserFields) {
    const name = field.graph as WritableUserField;
    if (!(name in input.changes)) continue;
    let value = input.changes[name];
    if (name === "userPrincipalName" && typeof value === "string") value = value.toLowerCase();
    if (value !== user[keyOf(field) as keyof UserRow]) changes[name] = value ?? null;
  }
  if (typeof changes.userPrincipalName === "string") await checkUpn(ctx, changes.userPrincipalName);
  // A direct license needs the user's own location (groups fall back to the tenant's); the guard below closes the race
  // with an assignLicense landing between this read and the write.
  const clearsLocation = "usageLocation" in changes && changes.usageLocation === null;
  if (clearsLocation && (await holdsDirectLicense(ctx.d1, user))) throw locationNeeded();
  const modified = Object.entries(changes).map(([field, value]) => ({
    displayName: field,
    oldValue: JSON.stringify(user[field as keyof UserRow]),
    newValue: JSON.stringify(value),
  }));
  const updated = { ...user, ...changes, updatedAt: ctx.now.toISOString() } as UserRow;
  if (modified.length === 0) return updated;
  // Dynamic groups and group licensing (usage location) depend on user attributes: weigh them again.
  const reevaluate = followUp(ctx, { kind: "userChanged", userIds: [user.id] });
  try {
    await ctx.d1.batch([
      ...(clearsLocation ? [noDirectLicenseGuard(ctx.d1, user)] : []),
      updateUserStatement(ctx.d1, user, changes, updated.updatedAt),
      auditStatement(ctx, {
        activity: "Update user",
        category: "UserManagement",
        operationType: "Update",
        targets: [userTarget(updated, modified)],
      }),
      ...reevaluate.statements,
    ]);
  } catch (error) {
    if (isUniqueViolation(error)) throw upnTaken();
    if (clearsLocation && isGuardFailure(error)) throw locationNeeded();
    throw error;
  }
  await sendFollowUps(ctx, [reevaluate.id]);
  return updated;
}

/** One live user, by id or userPrincipalName. */
export async function getUser({ ctx, input }: { ctx: Ctx; input: { userRef: string } }): Promise<UserRow> {
  requireRole(ctx, can.readDirectory);
  const user = await findUser(ctx.d1, ctx.tenantId, input.userRef);
  if (!user) throw notFound(input.userRef);
  return user;
}

/** A page of the tenant's users (filtered, within a selection), in id order; top + 1 rows tell whether there is more. */
export async function listUsers({ ctx, input }: { ctx: Ctx; input: UserListQuery }) {
  requireRole(ctx, can.readDirectory);
  return listStoredUsers(ctx, input);
}

/** How many of the tenant's users match (GET /users/$count). */
export async function countUsers({ ctx, input }: { ctx: Ctx; input: Pick<UserListQuery, "filter" | "search"> }) {
  requireRole(ctx, can.readDirectory);
  return countStoredUsers(ctx, input);
}

/** GET /directory/deletedItems/microsoft.graph.user: a page of the recycle bin, in id order (top + 1 rows). */
export async function listDeletedUsers({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { top: number; after?: string | undefined };
}) {
  requireRole(ctx, can.readDirectory);
  return listStoredDeletedUsers(ctx, input.top, input.after);
}

/** GET /directory/deletedItems/{id}: one user of the recycle bin. */
export async function getDeletedUser({ ctx, input }: { ctx: Ctx; input: { id: string } }): Promise<UserRow> {
  requireRole(ctx, can.readDirectory);
  const found = await findDeletedUser(ctx, input.id);
  if (!found) throw notFound(input.id);
  return found.user;
}
