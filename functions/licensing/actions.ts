import { type AuditEntry, auditStatements } from "../audit/store.ts";
import type { Ctx } from "../core/context.ts";
import { badRequest, concurrencyViolation, notFound } from "../core/errors.ts";
import { isGuardFailure } from "../core/sql.ts";
import { enqueue } from "../jobs/queue.ts";
import type { UserRow } from "../directory/store.ts";
import { type AssignLicenseRequest, firstDirectViolation, currentIntents, planDirectChange } from "./direct.ts";
import { type HeldLicense, type ReconcileResult, reconcileUser, type SourceIntent } from "./rules.ts";
import { readUserLicensing, type UserLicensingSnapshot, userLicensingWrites } from "./store.ts";

const MAX_ATTEMPTS = 8;

export type LicensingChange = {
  /** SKUs the change may add, so the read brings their catalogue entries, pools and subscriptions. */
  extraSkuIds: readonly string[];
  /** The user's complete set of source intents after the change (throws to refuse the change). */
  intents: (snapshot: UserLicensingSnapshot) => SourceIntent[];
  /** Refuses outcomes the caller must not accept (a direct call refuses any rule its own sources break). */
  accept?: (result: ReconcileResult, snapshot: UserLicensingSnapshot) => void;
  /** Further writes that must land in the same batch (marking the user deleted, say). */
  alsoWrite?: (snapshot: UserLicensingSnapshot) => D1PreparedStatement[];
};

const seatsAvailable = (snapshot: UserLicensingSnapshot) =>
  new Map([...snapshot.pools].map(([skuId, pool]) => [skuId, pool.enabled - pool.consumed]));

export function reconcileSnapshot(ctx: Ctx, snapshot: UserLicensingSnapshot, intents: SourceIntent[]): ReconcileResult {
  return reconcileUser({
    usageLocation: snapshot.user.usageLocation,
    tenantCountry: snapshot.tenantCountry,
    intents,
    held: snapshot.held,
    seatsAvailable: seatsAvailable(snapshot),
    skuPlans: new Map([...snapshot.skus].map(([id, sku]) => [id, sku.servicePlans.map((p) => p.id)])),
    rules: snapshot.rules,
    now: ctx.now.toISOString(),
  });
}

/** What the audit needs to know of a user's state before a change. */
export type LicensingBefore = Pick<UserLicensingSnapshot, "held" | "sources" | "skus"> & {
  user: Pick<UserRow, "id" | "displayName" | "userPrincipalName">;
};

const describeLicenses = (licenses: ReadonlyMap<string, HeldLicense>, snapshot: LicensingBefore) =>
  JSON.stringify(
    [...licenses]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([skuId, l]) => ({
        skuId,
        skuPartNumber: snapshot.skus.get(skuId)?.skuPartNumber ?? null,
        disabledPlans: l.disabledPlans,
      })),
  );

const describeSources = (sources: readonly { skuId: string; sourceId: string; state: string; error: string }[]) =>
  JSON.stringify([...sources].map((s) => `${s.skuId}:${s.sourceId}:${s.state}:${s.error}`).sort());

export function changeUserLicenseAudit(snapshot: LicensingBefore, result: ReconcileResult): AuditEntry | undefined {
  const before = describeLicenses(snapshot.held, snapshot);
  const after = describeLicenses(result.licenses, snapshot);
  if (before === after && describeSources(snapshot.sources) === describeSources(result.sources)) return undefined;
  return {
    activity: "Change user license",
    category: "UserManagement",
    operationType: "Update",
    targets: [
      {
        id: snapshot.user.id,
        displayName: snapshot.user.displayName,
        userPrincipalName: snapshot.user.userPrincipalName,
        type: "User",
        modifiedProperties: [{ displayName: "AssignedLicense", oldValue: before, newValue: after }],
      },
    ],
  };
}

/**
 * The one path by which a single user's licensing changes: read the user's state, decide with the pure rules,
 * write once in a guarded batch; if anything changed in between (the user or a seat pool), read and decide again.
 */
export async function changeUserLicensing(ctx: Ctx, userRef: string, change: LicensingChange) {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const snapshot = await readUserLicensing(ctx, userRef, change.extraSkuIds);
    if (!snapshot) throw notFound(userRef);
    const result = reconcileSnapshot(ctx, snapshot, change.intents(snapshot));
    change.accept?.(result, snapshot);
    const audit = changeUserLicenseAudit(snapshot, result);
    try {
      await ctx.d1.batch([
        ...userLicensingWrites(ctx, snapshot.user, result),
        ...(change.alsoWrite?.(snapshot) ?? []),
        ...auditStatements(ctx, audit ? [audit] : []),
      ]);
      const heal = result.seatsFreed.filter((sku) => snapshot.waitingSkus.has(sku));
      if (heal.length) await enqueue(ctx, [{ kind: "healSeats", tenantId: ctx.tenantId, skuIds: heal }]);
      return { user: snapshot.user, result, snapshot };
    } catch (error) {
      if (!isGuardFailure(error)) throw error;
      // Lost a race for this user or for the last seats: back off a little (with jitter) and decide again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
    }
  }
  throw concurrencyViolation();
}

/** POST /users/{id}/assignLicense: add and remove direct licenses in one atomic change (a swap has no gap). */
export async function assignUserLicenses({
  ctx,
  userRef,
  request,
}: {
  ctx: Ctx;
  userRef: string;
  request: AssignLicenseRequest;
}): Promise<UserRow> {
  const role = ctx.actor.kind === "apiKey" ? ctx.actor.role : undefined;
  const { user } = await changeUserLicensing(ctx, userRef, {
    extraSkuIds: [...request.addLicenses.map((a) => a.skuId), ...request.removeLicenses],
    intents: (snapshot) => planDirectChange(snapshot, request, role),
    accept: (result, snapshot) => {
      const violation = firstDirectViolation(result.sources, snapshot.sources, request);
      if (violation) throw badRequest(violation.message);
    },
  });
  return user;
}

/** POST /users/{id}/reprocessLicenseAssignment: weigh every source again; errors that remain stay recorded. */
export async function reprocessUserLicenses({ ctx, userRef }: { ctx: Ctx; userRef: string }): Promise<UserRow> {
  const { user } = await changeUserLicensing(ctx, userRef, {
    extraSkuIds: [],
    intents: (snapshot) => currentIntents(snapshot),
  });
  return user;
}
