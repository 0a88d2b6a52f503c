/** The groups' presenters: Graph's group resource, projected onto $select. */
import { project } from "../core/odata.ts";
import { graphTime } from "../core/time.ts";
import { type Group, groupDefaultSelect } from "./group-schemas.ts";
import type { GroupRow } from "./group-store.ts";
import { GROUP_MAIL_DOMAIN } from "./rules.ts";

const ruleStatus = (jobState: string | null | undefined) =>
  jobState === "Complete"
    ? "Succeeded"
    : jobState === "Running" || jobState === "Superseded"
      ? "Running"
      : "NotStarted";

/** Groups for the wire; `licensesOf` gives each group's assignedLicenses when $select asks for them. */
export function presentGroups(
  groups: readonly GroupRow[],
  select: readonly string[] | undefined,
  licensesOf?: (groupId: string) => { skuId: string; disabledPlans: string[] }[],
) {
  const fields = select ?? groupDefaultSelect;
  return groups.map(
    (g) =>
      project(
        {
          id: g.id,
          createdDateTime: graphTime(g.createdAt),
          description: g.description,
          displayName: g.displayName,
          groupTypes: g.groupTypes,
          mail: g.mailEnabled && g.mailNickname ? `${g.mailNickname}@${GROUP_MAIL_DOMAIN}` : null,
          mailEnabled: g.mailEnabled,
          mailNickname: g.mailNickname,
          membershipRule: g.membershipRule,
          membershipRuleProcessingState: g.membershipRuleProcessingState,
          securityEnabled: g.securityEnabled,
          assignedLicenses: (licensesOf?.(g.id) ?? []).map((l) => ({ disabledPlans: l.disabledPlans, skuId: l.skuId })),
          licenseProcessingState: g.licenseProcessingState ? { state: g.licenseProcessingState } : null,
          // Beta Graph's shape: how far the latest evaluation of a dynamic rule has got (admins ask "is it done yet?").
          membershipRuleProcessingStatus: g.membershipRule ? { status: ruleStatus(g.ruleJobState) } : null,
        },
        fields,
      ) as Group,
  );
}

/** Whether these properties need the groups' licenses. */
export const needsGroupLicenses = (select: readonly string[] | undefined) =>
  (select ?? groupDefaultSelect).includes("assignedLicenses");
