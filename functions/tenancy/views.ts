/** The tenancy capability's presenters. */
import { graphTime } from "../core/time.ts";
import type { Tenant } from "./store.ts";

/** Graph's organization resource. */
export const graphOrganization = (tenant: Tenant) => ({
  id: tenant.id,
  displayName: tenant.displayName,
  countryLetterCode: tenant.country,
  createdDateTime: graphTime(tenant.createdAt),
});
