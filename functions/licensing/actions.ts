import { type UserLicenseChange, userLicenseChangeStatements } from "../audit/store.ts";
import type { Ctx } from "../core/context.ts";
import { concurrencyViolation, notFound } from "../core/errors.ts";
import { isGuardFailure } from "../core/sql.ts";
import type { UserRow } from "../directory/store.ts";
import { enqueue } from "../jobs/queue.ts";
import { type AssignLicenseRequest, currentIntents, firstDirectViolation, planDirectChange } from "./direct.ts";
import { type HeldLicense, type ReconcileResult, reconcileUser, type SourceIntent } from "./rules.ts";
import {
  readUserLicensing,
  seatWaiters,
  toSourceRow,
  type UserLicensingSnapshot,
  userLicensingWrites,
  waitingSkus,
} from "./store.ts";

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

// A group job describes the licenses of thousands of users a page, nearly all the same few: each license's JSON is
// built once per isolate (it was the costliest single function of planning a page), and a user's list is those joined.
const licenseDescriptions = new Map<string, string>();
const LICENSE_DESCRIPTIONS_KEPT = 10_000;

function describeLicense(skuId: string, skuPartNumber: string | null, disabledPlans: readonly string[]): string {
  const key = `${skuId}|${skuPartNumber}|${disabledPlans.join(",")}`;
  let text = licenseDescriptions.get(key);
  if (text === undefined) {
    if (licenseDescriptions.size >= LICENSE_DESCRIPTIONS_KEPT) licenseDescriptions.clear();
    text = JSON.stringify({ skuId, skuPartNumber, disabledPlans });
    licenseDescriptions.set(key, text);
  }
  return text;
}

/** The licenses as JSON text, by skuId: what JSON.stringify of their descriptions gives, built from the memo. */
const describeLicenses = (licenses: ReadonlyMap<string, HeldLicense>, snapshot: LicensingBefore) =>
  `[${[...licenses]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([skuId, l]) => describeLicense(skuId, snapshot.skus.get(skuId)?.skuPartNumber ?? null, l.disabledPlans))
    .join(",")}]`;

const describeSources = (sources: readonly { skuId: string; sourceId: string; state: string; error: string }[]) =>
  JSON.stringify([...sources].map((s) => `${s.skuId}:${s.sourceId}:${s.state}:${s.error}`).sort());

/** The audit of a licensing change, or nothing when neither the licenses nor the sources' states moved. */
export function changeUserLicenseAudit(
  snapshot: LicensingBefore,
  result: ReconcileResult,
): UserLicenseChange | undefined {
  const oldValue = describeLicenses(snapshot.held, snapshot);
  const newValue = describeLicenses(result.licenses, snapshot);
  if (oldValue === newValue && describeSources(snapshot.sources) === describeSources(result.sources)) return undefined;
  return { user: snapshot.user, oldValue, newValue };
}

/**
 * The state each isolate last wrote for a user. A change decided on it needs no read: its write batch is guarded on
 * the user's licenseVersion, the tenant's licensingVersion and the seat pools, so if anything moved meanwhile (another
 * isolate, a group job, a new rule) the guard fails and the change is decided again on a fresh read. A refusal is
 * never answered from this cache: it is always confirmed on fresh data first.
 */
const snapshots = new Map<string, { snapshot: UserLicensingSnapshot; until: number }>();
const SNAPSHOT_TTL_MS = 10_000;
const SNAPSHOT_LIMIT = 5_000;

const cacheKey = (tenantId: string, userRef: string) => `${tenantId}|${userRef.toLowerCase()}`;

function cachedSnapshot(key: string, extraSkuIds: readonly string[]): UserLicensingSnapshot | undefined {
  const entry = snapshots.get(key);
  if (!entry || entry.until < Date.now()) return undefined;
  return extraSkuIds.every((sku) => entry.snapshot.skus.has(sku)) ? entry.snapshot : undefined;
}

/** What the user's state is after a successful write, as the next change will need it. */
function afterWrite(snapshot: UserLicensingSnapshot, result: ReconcileResult): UserLicensingSnapshot {
  const pools = new Map(snapshot.pools);
  for (const sku of result.seatsTaken) {
    const pool = pools.get(sku);
    if (pool) pools.set(sku, { ...pool, consumed: pool.consumed + 1 });
  }
  for (const sku of result.seatsFreed) {
    const pool = pools.get(sku);
    if (pool) pools.set(sku, { ...pool, consumed: pool.consumed - 1 });
  }
  return {
    ...snapshot,
    user: { ...snapshot.user, licenseVersion: snapshot.user.licenseVersion + 1 },
    sources: result.sources.map(toSourceRow),
    held: result.licenses,
    pools,
  };
}

function remember(ctx: Ctx, userRef: string, snapshot: UserLicensingSnapshot) {
  if (snapshots.size >= SNAPSHOT_LIMIT) snapshots.clear();
  const entry = { snapshot, until: Date.now() + SNAPSHOT_TTL_MS };
  snapshots.set(cacheKey(ctx.tenantId, userRef), entry);
  snapshots.set(cacheKey(ctx.tenantId, snapshot.user.id), entry);
}

/**
 * The one path by which a single user's licensing changes: take the user's state (remembered, or read in one
 * batch), decide with the pure rules, write once in a guarded batch; if anything changed in between (the user, a
 * seat pool, the tenant's rules or subscriptions), read fresh and decide again.
 */
export async function changeUserLicensing(ctx: Ctx, userRef: string, change: LicensingChange) {
  const key = cacheKey(ctx.tenantId, userRef);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const cached = attempt === 0 && !change.alsoWrite ? cachedSnapshot(key, change.extraSkuIds) : undefined;
    const snapshot = cached ?? (await readUserLicensing(ctx, userRef, change.extraSkuIds));
    if (!snapshot) throw notFound(userRef);
    let result: ReconcileResult;
    try {
      result = reconcileSnapshot(ctx, snapshot, change.intents(snapshot));
      change.accept?.(result, snapshot);
    } catch (error) {
      // Refuse only on fresh data.
      if (cached) {
        snapshots.delete(key);
        continue;
      }
      throw error;
    }
    const audit = changeUserLicenseAudit(snapshot, result);
    // Seats this change frees may be owed to members waiting in CountViolation: the batch itself says who waits.
    const waiting = seatWaiters(ctx, result.seatsFreed);
    let heal: string[] = [];
    try {
      const results = await ctx.d1.batch([
        ...userLicensingWrites(ctx, snapshot, result),
        ...(change.alsoWrite?.(snapshot) ?? []),
        ...userLicenseChangeStatements(ctx, audit ? [audit] : []),
        ...waiting,
      ]);
      if (waiting.length) heal = waitingSkus(results);
    } catch (error) {
      if (!isGuardFailure(error)) throw error;
      snapshots.delete(key);
      // Lost a race (this user, the last seats, or a tenant-wide change): back off a little with jitter, read fresh.
      if (!cached) await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
      continue;
    }
    if (change.alsoWrite) snapshots.delete(key);
    else remember(ctx, userRef, afterWrite(snapshot, result));
    if (heal.length) await enqueue(ctx, [{ kind: "healSeats", tenantId: ctx.tenantId, skuIds: heal }]);
    return { user: snapshot.user, result, snapshot };
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
      const refusal = firstDirectViolation(result.sources, snapshot.sources, request);
      if (refusal) throw refusal;
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
