/** The directory's pure rules for groups: what a group's kind allows, and Graph's wording when it does not. */
import { invalid } from "../core/errors.ts";
import { MembershipRuleError, parseMembershipRule } from "./membership-rule.ts";

export const groupMessages = {
  alreadyMember: "One or more added object references already exist for the following modified properties: 'members'.",
  dynamicMembers:
    "Members of a group with dynamic membership are set by its membership rule and cannot be added or removed manually.",
  licensedDelete:
    "It isn't possible to delete a group with an active license assigned. Remove the group's licenses first (POST /groups/{id}/assignLicense with removeLicenses).",
  guestInLicensedGroup:
    "Group-based licensing isn't supported for groups that contain guest users: this group holds licenses, so a guest can't be added. Turn on allowGuestsInLicensedGroups for the tenant to allow it.",
  ruleRequired: "A group with DynamicMembership in groupTypes needs a membershipRule.",
  ruleWithoutDynamic: "membershipRule can only be set on a group with DynamicMembership in groupTypes.",
  unknownMember: (id: string) =>
    `The source resource object or one of the objects being referenced do not exist: '${id}'.`,
};

/** The domain of a mail-enabled group's address (mailNickname@seatflow.local), until groups take a tenant's domains. */
export const GROUP_MAIL_DOMAIN = "seatflow.local";

/** Graph keeps a deleted user in the recycle bin (directory/deletedItems) 30 days, then deletes it permanently. */
export const RECYCLE_BIN_DAYS = 30;
const DAY_MS = 86_400_000;

/** When a deleted user's 30 days end: the daily run deletes it permanently from then on. */
export const recycleBinEnds = (deletedAt: string) =>
  new Date(Date.parse(deletedAt) + RECYCLE_BIN_DAYS * DAY_MS).toISOString();

/** Whether a deleted user can still be restored (strictly before the end of its 30 days). */
export const restorable = (deletedAt: string, now: string) => Date.parse(now) < Date.parse(recycleBinEnds(deletedAt));

export const isDynamic = (group: { groupTypes: readonly string[] }) => group.groupTypes.includes("DynamicMembership");

/** Refuses a membership rule that does not parse, with the parser's position in the message. */
export function checkRule(rule: string) {
  try {
    parseMembershipRule(rule);
  } catch (error) {
    if (error instanceof MembershipRuleError) {
      throw invalid(`Invalid membershipRule: ${error.message}`, {
        reason: "invalidMembershipRule",
        fields: [{ field: "membershipRule", message: error.message }],
      });
    }
    throw error;
  }
}

/**
 * A group's kind and rule must agree: a dynamic group needs a rule (`rule`: the one it will have) and takes no manual
 * members; a rule given for any other group is refused (`givenRule`: the one this call sets).
 */
export function checkGroupShape(
  groupTypes: readonly string[],
  rule: string | null | undefined,
  givenRule: string | null | undefined,
  manualMembers: number,
) {
  const dynamic = groupTypes.includes("DynamicMembership");
  if (dynamic && !rule) throw invalid(groupMessages.ruleRequired);
  if (!dynamic && givenRule) throw invalid(groupMessages.ruleWithoutDynamic);
  if (givenRule) checkRule(givenRule);
  if (dynamic && manualMembers > 0) throw invalid(groupMessages.dynamicMembers);
}
