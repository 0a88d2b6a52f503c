import type { SkuPlans } from "../catalog/store.ts";
import { graphTime } from "../core/time.ts";
import {
  assignedLicenses,
  assignedPlans,
  licenseAssignmentStates,
  type UserLicensingView,
} from "../licensing/views.ts";
import type { UserRow } from "./store.ts";

export const licensingFields = ["assignedLicenses", "assignedPlans", "licenseAssignmentStates"] as const;

/** Graph's user resource, whole; handlers project it onto $select or the default property set. */
export function graphUser(user: UserRow, licensing?: { view: UserLicensingView; skus: ReadonlyMap<string, SkuPlans> }) {
  return {
    id: user.id,
    businessPhones: [],
    displayName: user.displayName,
    givenName: user.givenName,
    jobTitle: user.jobTitle,
    mail: user.mail,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: user.surname,
    userPrincipalName: user.userPrincipalName,
    mailNickname: user.mailNickname,
    department: user.department,
    companyName: user.companyName,
    country: user.country,
    employeeId: user.employeeId,
    usageLocation: user.usageLocation,
    userType: user.userType,
    accountEnabled: user.accountEnabled,
    createdDateTime: graphTime(user.createdAt),
    deletedDateTime: user.deletedAt ? graphTime(user.deletedAt) : null,
    ...(licensing
      ? {
          assignedLicenses: assignedLicenses(licensing.view),
          assignedPlans: assignedPlans(licensing.view, licensing.skus),
          licenseAssignmentStates: licenseAssignmentStates(licensing.view),
        }
      : {}),
  };
}
