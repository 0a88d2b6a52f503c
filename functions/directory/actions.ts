import { type AuditEntry, auditStatement } from "../audit/store.ts";
import type { Ctx } from "../core/context.ts";
import { invalid, notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { enqueue } from "../jobs/queue.ts";
import { changeUserLicensing } from "../licensing/actions.ts";
import type { CreateUserInput, UpdateUserInput } from "./schemas.ts";
import {
  findUser,
  insertUserStatement,
  type UserRow,
  type UserWritable,
  updateUserStatement,
  userWritableColumns,
} from "./store.ts";

const upnTaken = () => invalid("Another object with the same value for property userPrincipalName already exists.");
const isUniqueViolation = (error: unknown) => error instanceof Error && /UNIQUE constraint failed/i.test(error.message);

const userTarget = (user: UserRow, modifiedProperties: AuditEntry["targets"][number]["modifiedProperties"] = []) => ({
  id: user.id,
  displayName: user.displayName,
  userPrincipalName: user.userPrincipalName,
  type: "User" as const,
  modifiedProperties,
});

/** Users arrive with no license: nothing is assigned implicitly except through groups (rule 12). */
export async function createUser({ ctx, input }: { ctx: Ctx; input: CreateUserInput }): Promise<UserRow> {
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
  try {
    const [inserted] = await ctx.d1.batch<{ seq: number }>([
      insertUserStatement(ctx.d1, user),
      auditStatement(ctx, {
        activity: "Add user",
        category: "UserManagement",
        operationType: "Add",
        targets: [userTarget(user)],
      }),
    ]);
    user.seq = Number(inserted?.results[0]?.seq);
  } catch (error) {
    if (isUniqueViolation(error)) throw upnTaken();
    throw error;
  }
  await enqueue(ctx, [{ kind: "userChanged", tenantId: ctx.tenantId, userIds: [user.id] }]);
  return user;
}

export async function updateUser({ ctx, userRef, input }: { ctx: Ctx; userRef: string; input: UpdateUserInput }) {
  const user = await findUser(ctx.d1, ctx.tenantId, userRef);
  if (!user) throw notFound(userRef);
  const changes: Partial<Record<UserWritable, unknown>> = {};
  for (const field of Object.keys(userWritableColumns) as UserWritable[]) {
    if (!(field in input)) continue;
    let value = (input as Record<string, unknown>)[field];
    if (field === "userPrincipalName" && typeof value === "string") value = value.toLowerCase();
    if (value !== user[field]) changes[field] = value ?? null;
  }
  const modified = Object.entries(changes).map(([field, value]) => ({
    displayName: field,
    oldValue: JSON.stringify(user[field as UserWritable]),
    newValue: JSON.stringify(value),
  }));
  const updated = { ...user, ...changes, updatedAt: ctx.now.toISOString() } as UserRow;
  if (modified.length === 0) return updated;
  try {
    await ctx.d1.batch([
      updateUserStatement(ctx.d1, user, changes, updated.updatedAt),
      auditStatement(ctx, {
        activity: "Update user",
        category: "UserManagement",
        operationType: "Update",
        targets: [userTarget(updated, modified)],
      }),
    ]);
  } catch (error) {
    if (isUniqueViolation(error)) throw upnTaken();
    throw error;
  }
  // Dynamic groups and group licensing (usage location) depend on user attributes: weigh them again.
  await enqueue(ctx, [{ kind: "userChanged", tenantId: ctx.tenantId, userIds: [user.id] }]);
  return updated;
}

/** Soft delete: the user's seats are free the moment this returns (spec §4, "user deletion"). */
export async function deleteUser({ ctx, userRef }: { ctx: Ctx; userRef: string }) {
  await changeUserLicensing(ctx, userRef, {
    extraSkuIds: [],
    intents: () => [],
    alsoWrite: (snapshot) => [
      ctx.d1
        .prepare("UPDATE users SET deleted_at = ?1, updated_at = ?1 WHERE tenant_id = ?2 AND id = ?3")
        .bind(ctx.now.toISOString(), ctx.tenantId, snapshot.user.id),
      ctx.d1.prepare("DELETE FROM group_members WHERE user_seq = ?1").bind(snapshot.user.seq),
      auditStatement(ctx, {
        activity: "Delete user",
        category: "UserManagement",
        operationType: "Delete",
        targets: [userTarget(snapshot.user)],
      }),
    ],
  });
}
