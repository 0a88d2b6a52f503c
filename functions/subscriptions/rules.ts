/** The subscription lifecycle and seat arithmetic: pure rules (spec §3.6-3.7). */
export const subscriptionStatuses = ["Enabled", "Warning", "Suspended", "LockedOut", "Deleted"] as const;
export type SubscriptionStatus = (typeof subscriptionStatuses)[number];

// The commerce lifecycle (spec §3.7): Enabled → Warning (expired, grace) → Suspended (disabled) → Deleted,
// LockedOut when cancelled; renewal or reactivation brings Warning/Suspended back to Enabled. Deleted is final.
const transitions: Record<SubscriptionStatus, readonly SubscriptionStatus[]> = {
  Enabled: ["Warning", "Suspended", "LockedOut", "Deleted"],
  Warning: ["Enabled", "Suspended", "LockedOut", "Deleted"],
  Suspended: ["Enabled", "LockedOut", "Deleted"],
  LockedOut: ["Deleted"],
  Deleted: [],
};

export const canMoveTo = (from: SubscriptionStatus, to: SubscriptionStatus) =>
  from === to || transitions[from].includes(to);

export type UnitsByStatus = { enabled: number; warning: number; suspended: number; lockedOut: number };

export function prepaidUnits(subs: readonly { status: string; totalLicenses: number }[]): UnitsByStatus {
  const units = { enabled: 0, warning: 0, suspended: 0, lockedOut: 0 };
  for (const s of subs) {
    if (s.status === "Enabled") units.enabled += s.totalLicenses;
    else if (s.status === "Warning") units.warning += s.totalLicenses;
    else if (s.status === "Suspended") units.suspended += s.totalLicenses;
    else if (s.status === "LockedOut") units.lockedOut += s.totalLicenses;
  }
  return units;
}

/** "Enabled indicates that prepaidUnits has at least one unit that is enabled", and so on down the lifecycle. */
export function capabilityStatus(units: UnitsByStatus): SubscriptionStatus {
  if (units.enabled > 0) return "Enabled";
  if (units.warning > 0) return "Warning";
  if (units.suspended > 0) return "Suspended";
  if (units.lockedOut > 0) return "LockedOut";
  return "Deleted";
}

/** Only company-owned, Enabled units can be newly assigned (warning units keep existing users working). */
export const assignableUnits = (subs: readonly { status: string; totalLicenses: number; ownerType: string }[]) =>
  subs.filter((s) => s.status === "Enabled" && s.ownerType === "Company").reduce((n, s) => n + s.totalLicenses, 0);

/**
 * Whether a subscription still delivers its SKU's plans to the users holding it. Graph's capabilityStatus: Suspended
 * keeps the data, LockedOut is "unavailable for all administrators and users", Deleted "any data … may be deleted".
 * Issue #15 makes LockedOut and Deleted end the service (a mailbox's countdown starts); the licenses stay assigned, as
 * Graph keeps them.
 */
const NOT_DELIVERING: readonly SubscriptionStatus[] = ["Deleted", "LockedOut"];
export const deliversService = (status: SubscriptionStatus) => !NOT_DELIVERING.includes(status);
/** deliversService as SQL over a subscriptions row's status column, for the stores' set-based reads. */
export const DELIVERS_SERVICE_SQL = `status NOT IN (${NOT_DELIVERING.map((s) => `'${s}'`).join(", ")})`;

/**
 * The job kind (licensing/delivery-job.ts) that walks a SKU's holders when the SKU starts or stops delivering: its
 * name only, so subscriptions can queue it without knowing licensing.
 */
export const SKU_DELIVERY_JOB_KIND = "skuDelivery";
