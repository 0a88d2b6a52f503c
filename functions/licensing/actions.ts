/**
 * The single-user licensing verbs (assignLicense, reprocess) and the one write path they share with every change that
 * moves one user's licenses (a deleted user's, an HR leaver's): read or remember, decide purely, write once, guarded.
 */
import { userLicenseChangeStatements } from "../audit/store.ts";
import { requireRole, roleOf } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { concurrencyViolation, notFound } from "../core/errors.ts";
import { can } from "../core/roles.ts";
import { isGuardFailure } from "../core/sql.ts";
import type { UserRow } from "../directory/store.ts";
import { healSeatsIfWaiting, sendFollowUps, written } from "../jobs/outbox.ts";
import { type AssignLicenseRequest, currentIntents, firstDirectViolation, planDirectChange } from "./direct-rules.ts";
import { changeUserLicenseAudit } from "./license-audit.ts";
import { changesNothing, type ReconcileResult, reconcileUser, type SourceIntent } from "./rules.ts";
import {
  fingerprintAfter,
  loadGroupLicenses,
  loadLicensingViews,
  readUserLicensing,
  readUserWithLicensing,
  toSourceRow,
  type UserLicensingSnapshot,
  userLicensingWrites,
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
  /** Writes that must come first in the batch (a restore brings the user back before the licensing guard looks). */
  writeFirst?: (snapshot: UserLicensingSnapshot) => D1PreparedStatement[];
  /**
   * A deletion or a restore: the user is deleted before and after the change, as the consequences of the change see
   * it (a deleted user's mailbox goes inactive or starts its countdown). A restore reads the user from the recycle bin.
   */
  lifecycle?: { deletedBefore: boolean; deletedAfter: boolean };
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

/** What the user's state is after a successful write, as the next change will need it (undefined: read it fresh). */
function afterWrite(
  snapshot: UserLicensingSnapshot,
  result: ReconcileResult,
  consequenceStates: ReadonlyMap<string, string>,
): UserLicensingSnapshot | undefined {
  const sources = result.sources.map(toSourceRow);
  // The next write's guard compares the stored sources' fingerprint with the remembered one: keeping the fingerprint
  // as read would fail that guard every time, and each follow-up change would pay a failed batch and a fresh read.
  const sourcesFingerprint = fingerprintAfter(snapshot.seqs, sources);
  if (sourcesFingerprint === undefined) return undefined;
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
    sources,
    sourcesFingerprint,
    held: result.licenses,
    pools,
    consequenceStates,
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
    const special = change.alsoWrite !== undefined || change.writeFirst !== undefined || change.lifecycle !== undefined;
    const cached = attempt === 0 && !special ? cachedSnapshot(key, change.extraSkuIds) : undefined;
    const snapshot =
      cached ??
      (await readUserLicensing(ctx, userRef, change.extraSkuIds, {
        deleted: change.lifecycle?.deletedBefore === true,
      }));
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
    if (!special && changesNothing(snapshot, result)) {
      // Nothing to write, so nothing to race: answered on fresh data only, as a refusal is.
      if (cached) continue;
      remember(ctx, userRef, snapshot);
      return { user: snapshot.user, result, snapshot };
    }
    const audit = changeUserLicenseAudit(snapshot, result);
    // Seats this change frees may be owed to members waiting in CountViolation: the batch itself says who waits.
    const heal = healSeatsIfWaiting(ctx, result.seatsFreed);
    let healing = false;
    const writes = userLicensingWrites(ctx, snapshot, result, change.lifecycle);
    try {
      const results = await ctx.d1.batch([
        ...(change.writeFirst?.(snapshot) ?? []),
        ...writes.statements,
        ...(change.alsoWrite?.(snapshot) ?? []),
        ...userLicenseChangeStatements(ctx, audit ? [audit] : [], writes.audits),
        ...(heal?.statements ?? []),
      ]);
      healing = heal !== null && written(results.at(-1));
    } catch (error) {
      if (!isGuardFailure(error)) throw error;
      snapshots.delete(key);
      // Lost a race (this user, the last seats, or a tenant-wide change): back off a little with jitter, read fresh.
      if (!cached) await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
      continue;
    }
    const after =
      special || !writes.consequenceStates ? undefined : afterWrite(snapshot, result, writes.consequenceStates);
    if (after) remember(ctx, userRef, after);
    else snapshots.delete(key);
    if (healing) await sendFollowUps(ctx, [heal!.id]);
    return { user: snapshot.user, result, snapshot };
  }
  throw concurrencyViolation();
}

/** POST /users/{id}/assignLicense: add and remove direct licenses in one atomic change (a swap has no gap). */
export async function assignUserLicenses({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: AssignLicenseRequest & { userRef: string };
}): Promise<UserRow> {
  requireRole(ctx, can.assignLicenses);
  const role = roleOf(ctx.actor);
  const request = { addLicenses: input.addLicenses, removeLicenses: input.removeLicenses };
  const { user } = await changeUserLicensing(ctx, input.userRef, {
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
export async function reprocessUserLicenses({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { userRef: string };
}): Promise<UserRow> {
  requireRole(ctx, can.assignLicenses);
  const { user } = await changeUserLicensing(ctx, input.userRef, {
    extraSkuIds: [],
    intents: (snapshot) => currentIntents(snapshot),
  });
  return user;
}

/** The licensing views of these users (their licenses, sources and, if asked, their SKUs' plans). */
export async function licensingViewsOf({ ctx, input }: { ctx: Ctx; input: { userIds: string[]; withPlans: boolean } }) {
  requireRole(ctx, can.readDirectory);
  return loadLicensingViews(ctx.d1, ctx.tenantId, input.userIds, input.withPlans);
}

/** One user by id or userPrincipalName and, when asked, their licensing views: one D1 round trip. */
export async function readUser({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { userRef: string; licensing: { withPlans: boolean } | null };
}) {
  requireRole(ctx, can.readDirectory);
  const read = await readUserWithLicensing(ctx, input.userRef, input.licensing);
  if (!read) throw notFound(input.userRef);
  return read;
}

/** The licenses each of these groups hands out. */
export async function groupLicensesOf({ ctx, input }: { ctx: Ctx; input: { groupIds: string[] } }) {
  requireRole(ctx, can.readDirectory);
  return loadGroupLicenses(ctx.d1, ctx.tenantId, input.groupIds);
}
