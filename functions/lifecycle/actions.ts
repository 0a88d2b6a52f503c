/**
 * Verbs that change several capabilities in one batch: a user's deletion frees their licenses (licensing) in the same
 * batch that marks them deleted and drops their memberships (directory); a restore brings the user, their static
 * memberships and their licenses back in one batch; a permanent deletion frees the userPrincipalName. What a deletion
 * or a restore means for the user's mailbox and OneDrive comes with the licensing change (licensing/consequences.ts),
 * so nothing here knows retention. HR's leaver joins them here.
 */

import { auditStatement } from "../audit/store.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { notFound } from "../core/errors.ts";
import { can } from "../core/roles.ts";
import { isUniqueViolation } from "../core/sql.ts";
import { checkUpn, upnTaken, userTarget } from "../directory/actions.ts";
import { restorable } from "../directory/rules.ts";
import {
  deleteUserStatements,
  findDeletedUser,
  findUser,
  hardDeleteUsersStatements,
  restoreUserStatements,
} from "../directory/store.ts";
import { followUp, sendFollowUps } from "../jobs/outbox.ts";
import { changeUserLicensing } from "../licensing/actions.ts";
import { DIRECT, type SourceIntent } from "../licensing/rules.ts";
import { loadGroupLicenses } from "../licensing/store.ts";

/**
 * Soft delete (Graph's recycle bin, 30 days): the user's seats are free the moment this returns (spec §4, "user
 * deletion"); their direct licenses and static groups are kept for a restore.
 */
export async function deleteUser({ ctx, input }: { ctx: Ctx; input: { userRef: string } }) {
  requireRole(ctx, can.manageUsers);
  await changeUserLicensing(ctx, input.userRef, {
    extraSkuIds: [],
    intents: () => [],
    lifecycle: { deletedBefore: false, deletedAfter: true },
    alsoWrite: (snapshot) => [
      ...deleteUserStatements(
        ctx,
        snapshot.user,
        snapshot.sources
          .filter((s) => s.sourceId === DIRECT)
          .map((s) => ({ skuId: s.skuId, disabledPlans: s.disabledPlans })),
      ),
      auditStatement(ctx, {
        activity: "Delete user",
        category: "UserManagement",
        operationType: "Delete",
        targets: [userTarget(snapshot.user)],
      }),
    ],
  });
}

/**
 * POST /directory/deletedItems/{id}/restore: the user comes back with their static group memberships and their
 * licenses, direct and inherited, decided by licensing's rules as any change is: a license that finds no seat comes
 * back in its error state (CountViolation), as a group member's does ("Make sure licenses are available", admin
 * center). `newUserPrincipalName` (Graph's parameter for a name taken meanwhile) renames the user as it comes back.
 */
export async function restoreUser({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { id: string; newUserPrincipalName?: string | undefined };
}) {
  requireRole(ctx, can.manageUsers);
  const found = await findDeletedUser(ctx, input.id);
  if (!found || !restorable(found.user.deletedAt!, ctx.now.toISOString())) throw notFound(input.id);
  const upn = input.newUserPrincipalName?.toLowerCase() ?? null;
  if (upn !== null) await checkUpn(ctx, upn);
  const { user, restoreState } = found;
  const grants = [...(await loadGroupLicenses(ctx.d1, ctx.tenantId, restoreState.groups))].flatMap(
    ([groupId, licenses]) => licenses.map((l) => ({ groupId, ...l })),
  );
  const intents: SourceIntent[] = [
    ...restoreState.direct.map((d) => ({ skuId: d.skuId, sourceId: DIRECT, disabledPlans: d.disabledPlans })),
    ...grants.map((g) => ({ skuId: g.skuId, sourceId: g.groupId, disabledPlans: g.disabledPlans })),
  ];
  // Dynamic groups weigh the user again once they are back (their memberships were not kept).
  const reevaluate = followUp(ctx, { kind: "userChanged", userIds: [user.id] });
  try {
    await changeUserLicensing(ctx, user.id, {
      extraSkuIds: intents.map((i) => i.skuId),
      intents: () => intents,
      lifecycle: { deletedBefore: true, deletedAfter: false },
      writeFirst: () => restoreUserStatements(ctx, user, restoreState, upn),
      alsoWrite: () => [
        auditStatement(ctx, {
          activity: "Restore user",
          category: "UserManagement",
          operationType: "Update",
          targets: [
            userTarget(
              { ...user, userPrincipalName: upn ?? user.userPrincipalName },
              upn ? [{ displayName: "userPrincipalName", oldValue: user.userPrincipalName, newValue: upn }] : [],
            ),
          ],
        }),
        ...reevaluate.statements,
      ],
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw upnTaken();
    throw error;
  }
  await sendFollowUps(ctx, [reevaluate.id]);
  const restored = await findUser(ctx.d1, ctx.tenantId, user.id);
  if (!restored) throw notFound(input.id);
  return restored;
}

/**
 * DELETE /directory/deletedItems/{id}: deletes a user of the recycle bin permanently. Their userPrincipalName is free
 * again; their mailbox keeps its state and deadline (an inactive one stays as long as its hold).
 */
export async function purgeDeletedUser({ ctx, input }: { ctx: Ctx; input: { id: string } }) {
  requireRole(ctx, can.manageUsers);
  const found = await findDeletedUser(ctx, input.id);
  if (!found) throw notFound(input.id);
  await ctx.d1.batch(hardDeleteUsersStatements(ctx, [found.user.seq], ctx.now.toISOString()));
}
