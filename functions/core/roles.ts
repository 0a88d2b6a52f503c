/** Who may do what (DESIGN §6), named once: every route and every verb declares one of these. */
import type { Access } from "./authorize.ts";
import type { Role } from "./context.ts";

const only = (...roles: Role[]): Access => ({ roles });

export const can = {
  readDirectory: only(
    "GlobalAdministrator",
    "LicenseAdministrator",
    "UserAdministrator",
    "GlobalReader",
    "HrIntegration",
  ),
  manageUsers: only("GlobalAdministrator", "UserAdministrator", "HrIntegration"),
  assignLicenses: only("GlobalAdministrator", "LicenseAdministrator", "UserAdministrator"),
  readLicensing: only("GlobalAdministrator", "LicenseAdministrator", "UserAdministrator", "GlobalReader"),
  manageSubscriptions: only("GlobalAdministrator"),
  manageCatalog: only("GlobalAdministrator"),
  /** Installation-wide changes (the shared product catalogue, new tenants): the operator tenant's admins only. */
  operate: { roles: ["GlobalAdministrator"], operator: true },
  readAudit: only("GlobalAdministrator", "LicenseAdministrator", "UserAdministrator", "GlobalReader"),
  manageTenancy: only("GlobalAdministrator"),
  /** The first operator tenant of a deployed installation: the bootstrap token's holder, once, and no API key. */
  bootstrap: { roles: [], credential: "bootstrapToken" },
  readTenancy: only("GlobalAdministrator", "GlobalReader"),
  /** Mailboxes, OneDrives, labels, the purge's preview and ledger: the readers (no HR: it holds no directory data). */
  readRetention: only("GlobalAdministrator", "LicenseAdministrator", "UserAdministrator", "GlobalReader"),
  /** Mail arriving (the stand-in for delivery) is the directory's administrators'. */
  deliverMail: only("GlobalAdministrator", "UserAdministrator"),
  /** Litigation holds, retention labels and their application, the OneDrive setting, running the purge. */
  manageRetention: only("GlobalAdministrator"),
} as const satisfies Record<string, Access>;
