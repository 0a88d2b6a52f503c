import type { Role } from "./context.ts";

/** Who may do what (DESIGN §6), named once so every route declares one of these. */
export const can = {
  readDirectory: ["GlobalAdministrator", "LicenseAdministrator", "UserAdministrator", "GlobalReader", "HrIntegration"],
  manageUsers: ["GlobalAdministrator", "UserAdministrator", "HrIntegration"],
  assignLicenses: ["GlobalAdministrator", "LicenseAdministrator", "UserAdministrator"],
  readLicensing: ["GlobalAdministrator", "LicenseAdministrator", "UserAdministrator", "GlobalReader"],
  manageSubscriptions: ["GlobalAdministrator"],
  manageCatalog: ["GlobalAdministrator"],
  /** Installation-wide changes (the shared product catalogue, new tenants): the operator tenant's admins only. */
  operate: ["GlobalAdministrator"],
  readAudit: ["GlobalAdministrator", "LicenseAdministrator", "UserAdministrator", "GlobalReader"],
  manageTenancy: ["GlobalAdministrator"],
  readTenancy: ["GlobalAdministrator", "GlobalReader"],
} as const satisfies Record<string, readonly Role[]>;
