/** The tenancy capability's presenters. */
import { graphTime } from "../core/time.ts";
import type { DomainRow, Tenant } from "./store.ts";

/** Graph's organization resource. */
export const graphOrganization = (tenant: Tenant) => ({
  id: tenant.id,
  displayName: tenant.displayName,
  countryLetterCode: tenant.country,
  createdDateTime: graphTime(tenant.createdAt),
});

/** Graph's domain resource (seatflow's domains are managed, root domains, verified when added). */
export const graphDomain = (domain: DomainRow) => ({
  id: domain.name,
  authenticationType: "Managed" as const,
  availabilityStatus: null,
  isAdminManaged: true,
  isDefault: domain.isDefault,
  isInitial: domain.isInitial,
  isRoot: true,
  isVerified: domain.isVerified,
  passwordNotificationWindowInDays: null,
  passwordValidityPeriodInDays: null,
  supportedServices: ["Email", "OfficeCommunicationsOnline"],
});
