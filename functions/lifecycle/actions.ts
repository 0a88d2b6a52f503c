/**
 * Verbs that change several capabilities in one batch: a user's deletion frees their licenses (licensing) in the same
 * batch that marks them deleted and drops their memberships (directory). HR's leaver and restores join them here.
 */
import { auditStatement } from "../audit/store.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { can } from "../core/roles.ts";
import { userTarget } from "../directory/actions.ts";
import { deleteUserStatements } from "../directory/store.ts";
import { changeUserLicensing } from "../licensing/actions.ts";

/** Soft delete: the user's seats are free the moment this returns (spec §4, "user deletion"). */
export async function deleteUser({ ctx, input }: { ctx: Ctx; input: { userRef: string } }) {
  requireRole(ctx, can.manageUsers);
  await changeUserLicensing(ctx, input.userRef, {
    extraSkuIds: [],
    intents: () => [],
    alsoWrite: (snapshot) => [
      ...deleteUserStatements(ctx, snapshot.user),
      auditStatement(ctx, {
        activity: "Delete user",
        category: "UserManagement",
        operationType: "Delete",
        targets: [userTarget(snapshot.user)],
      }),
    ],
  });
}
