/** The fuzz suite's harness: a seeded tenant, a snapshot of all a tenant owns, and requests checked for 5xx and no-op refusals. */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { expect, vi } from "vitest";
import { app } from "../../functions/app.ts";
import {
  type ApiResponse,
  assign,
  BASE,
  buy,
  call,
  checkContract,
  newTenant,
  newUser,
  SKU,
  type TestTenant,
} from "./api.ts";
import { addMembers, assignGroup, newGroup, processed } from "./groups.ts";

// ---- what a tenant owns, read straight from D1 -----------------------------------------------------------------

/**
 * Every row a tenant owns, per table, in a stable order: a refused request must leave each of them as it was. The
 * per-member tables have no tenant column (docs/architecture.md §5): they are reached through the tenant's groups and
 * the *_by_id views.
 */
const tenantTables: Record<string, string> = {
  tenant: "SELECT * FROM tenants WHERE id = ?1",
  users: "SELECT * FROM users WHERE tenant_id = ?1 ORDER BY seq",
  groups: "SELECT * FROM groups WHERE tenant_id = ?1 ORDER BY seq",
  members:
    "SELECT m.* FROM group_members m JOIN groups g ON g.seq = m.group_seq WHERE g.tenant_id = ?1 ORDER BY m.group_seq, m.user_seq",
  licenseSources: "SELECT * FROM license_sources_by_id WHERE tenant_id = ?1 ORDER BY user_id, sku_id, source_id",
  userLicenses: "SELECT * FROM user_licenses_by_id WHERE tenant_id = ?1 ORDER BY user_id, sku_id",
  groupLicenses: "SELECT * FROM group_licenses WHERE tenant_id = ?1 ORDER BY group_id, sku_id",
  seatPools: "SELECT * FROM seat_pools WHERE tenant_id = ?1 ORDER BY seq",
  subscriptions: "SELECT * FROM subscriptions WHERE tenant_id = ?1 ORDER BY id",
  overallocation: "SELECT * FROM overallocation_alerts WHERE tenant_id = ?1 ORDER BY id",
  planRules: "SELECT * FROM plan_rules WHERE tenant_id = ?1 ORDER BY id",
  domains: "SELECT * FROM domains WHERE tenant_id = ?1 ORDER BY name",
  apiKeys: "SELECT * FROM api_keys WHERE tenant_id = ?1 ORDER BY id",
  jobs: "SELECT * FROM jobs WHERE tenant_id = ?1 ORDER BY id",
  // done_at moves when the queue gets to a row; settle() waits for that, so rows and their state are comparable.
  outbox: "SELECT id, kind, payload, done_at IS NULL AS pending FROM outbox WHERE tenant_id = ?1 ORDER BY id",
  mailboxes: "SELECT * FROM mailboxes WHERE tenant_id = ?1 ORDER BY seq",
  mailboxItems:
    "SELECT i.* FROM mailbox_items i JOIN mailboxes m ON m.seq = i.mailbox_seq WHERE m.tenant_id = ?1 ORDER BY i.mailbox_seq, i.item_seq",
  oneDrive: "SELECT * FROM onedrive_sites WHERE tenant_id = ?1 ORDER BY seq",
  retentionLabels: "SELECT * FROM retention_labels WHERE tenant_id = ?1 ORDER BY seq",
  retentionSettings: "SELECT * FROM retention_settings WHERE tenant_id = ?1",
  purgeLedger: "SELECT * FROM purge_ledger WHERE tenant_id = ?1 ORDER BY id",
  // Audit rows are only ever added: their ids show a refused request that wrote one.
  audit: "SELECT id FROM audit_log WHERE tenant_id = ?1 ORDER BY id",
};

export type Snapshot = Record<string, string>;

/** The tenant's rows, one JSON text per table (one D1 batch). */
export async function snapshot(tenantId: string): Promise<Snapshot> {
  const names = Object.keys(tenantTables);
  const results = await env.DB.batch(names.map((n) => env.DB.prepare(tenantTables[n]!).bind(tenantId)));
  return Object.fromEntries(names.map((n, i) => [n, JSON.stringify(results[i]!.results)]));
}

/** The tables that differ between two snapshots, each with its first differing row, for a readable failure. */
export function changedTables(before: Snapshot, after: Snapshot): Record<string, { before: unknown; after: unknown }> {
  const out: Record<string, { before: unknown; after: unknown }> = {};
  for (const table of Object.keys(before)) {
    if (before[table] === after[table]) continue;
    const a = JSON.parse(before[table]!) as unknown[];
    const b = JSON.parse(after[table]!) as unknown[];
    const i = a.findIndex((row, k) => JSON.stringify(row) !== JSON.stringify(b[k]));
    const at = i < 0 ? a.length : i;
    out[table] = { before: a[at] ?? `(${a.length} rows)`, after: b[at] ?? `(${b.length} rows)` };
  }
  return out;
}

/**
 * Waits until the queue has done all the tenant's follow-up work (outbox rows done, jobs finished), so that a snapshot
 * taken next is not moved by a previous request's background work.
 */
export async function settle(tenantId: string, timeout = 20_000) {
  await vi.waitFor(
    async () => {
      const row = await env.DB.prepare(
        `SELECT (SELECT count(*) FROM outbox WHERE tenant_id = ?1 AND done_at IS NULL)
              + (SELECT count(*) FROM jobs WHERE tenant_id = ?1 AND state IN ('Queued', 'Running')) AS pending`,
      )
        .bind(tenantId)
        .first<{ pending: number }>();
      if (row?.pending) throw new Error(`${row.pending} follow-ups still pending for tenant ${tenantId}`);
    },
    { timeout, interval: 20 },
  );
}

// ---- requests ----------------------------------------------------------------------------------------------------

export type FuzzRequest = {
  key: string | null;
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Bindings on top of the Worker's (a secret, say): the request then goes to the app with them, not the Worker. */
  bindings?: Record<string, string>;
};

const executionCtx = {
  waitUntil: () => {},
  passThroughOnException: () => {},
  props: {},
} as unknown as ExecutionContext;

/** `call` of test/helpers/api.ts, to the app with the Worker's bindings and `bindings` over them. */
async function callWith(bindings: Record<string, string>, r: FuzzRequest): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...r.headers };
  if (r.key) headers.authorization = `Bearer ${r.key}`;
  if (r.body !== undefined) headers["content-type"] ??= "application/json";
  const body = r.body === undefined ? undefined : typeof r.body === "string" ? r.body : JSON.stringify(r.body);
  const response = await app.fetch(
    new Request(`${BASE}${r.path}`, { method: r.method, headers, body }),
    { ...env, ...bindings },
    executionCtx,
  );
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  checkContract(r.method, r.path, response.status, parsed, { text, contentType: response.headers.get("content-type") });
  return { status: response.status, body: parsed, headers: response.headers };
}

const describeRequest = (r: FuzzRequest) =>
  `${r.method} ${r.path.slice(0, 600)}${r.body === undefined ? "" : ` body ${(typeof r.body === "string" ? r.body : (JSON.stringify(r.body) ?? String(r.body))).slice(0, 600)}`}`;

/**
 * Sends one request through the Worker and checks the suite's first two properties: never a 5xx, and a refused
 * request (4xx) leaves every table of every tenant in `watch` as it was. An accepted change is let settle (its
 * follow-ups run) so the next request starts from a still state. The contract check of test/helpers/api.ts applies
 * too: an undeclared status or a body off its schema fails.
 */
export async function checked(watch: readonly string[], request: FuzzRequest): Promise<ApiResponse> {
  const before = await Promise.all(watch.map(snapshot));
  const res = request.bindings
    ? await callWith(request.bindings, request)
    : await call(request.key, request.method, request.path, request.body, request.headers);
  const label = `${describeRequest(request)} → ${res.status} ${JSON.stringify(res.body)?.slice(0, 400)}`;
  expect(res.status, `5xx: ${label}`).toBeLessThan(500);
  if (res.status >= 400) {
    const after = await Promise.all(watch.map(snapshot));
    watch.forEach((tenantId, i) => {
      expect(changedTables(before[i]!, after[i]!), `a refused request changed tenant ${tenantId}: ${label}`).toEqual(
        {},
      );
    });
  } else if (request.method !== "GET") {
    await Promise.all(watch.map((t) => settle(t)));
  }
  return res;
}

/** Percent-encodes any JS string for a query string; lone surrogates become U+FFFD, as any HTTP client would send. */
export const encodeQueryValue = (value: string) =>
  encodeURIComponent(
    value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"),
  );

// ---- a seeded tenant --------------------------------------------------------------------------------------------

export type Seeded = {
  t: TestTenant;
  users: string[];
  /** A guest (userType Guest), kept out of the licensed group. */
  guest: string;
  staticGroup: string;
  licensedGroup: string;
  dynamicGroup: string;
  subscriptions: string[];
  /** A deleted user, in deletedItems (restorable). */
  deletedUser: string;
  /** A self-service (user-owned) subscription, one an admin may take over. */
  selfService: string;
  /** Ids of objects of this tenant, for path parameters and filter literals. */
  ids: string[];
};

/**
 * A tenant with a little of everything: E3 and EMS seats (E3 nearly used up), a self-service subscription, users in a
 * few departments with direct licenses (and so mailboxes), a deleted user, a static group, a licensed group, a dynamic
 * group, and audit rows from all of it.
 */
export async function seededTenant(): Promise<Seeded> {
  const t = await newTenant("US", "Fuzz");
  const subscriptions = [(await buy(t.admin, SKU.E3, 4)).id, (await buy(t.admin, SKU.EMS, 10)).id];
  const users = [
    await newUser(t.admin, { department: "Sales", displayName: "Adele Vance" }),
    await newUser(t.admin, { department: "Sales", displayName: "Ünïcødé 𝒰ser", jobTitle: 'O\'Brien "quoted"' }),
    await newUser(t.admin, { department: "HR", displayName: "Alex Wilber", companyName: "Contoso" }),
    await newUser(t.admin, { department: null, displayName: "No Department", usageLocation: "DE" }),
  ];
  const guest = await newUser(t.admin, { userType: "Guest", displayName: "Guest User", department: "Sales" });
  const selfService = (await buy(t.admin, SKU.EXCHANGE_P1, 2, { ownerType: "User", ownerId: users[0] })).id;
  for (const id of users.slice(0, 3)) {
    const res = await assign(t.admin, id, [{ skuId: SKU.E3 }]);
    if (res.status !== 200) throw new Error(`seed assign failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const staticGroup = await newGroup(t.admin, { displayName: "Static group" });
  await addMembers(t.admin, staticGroup, [users[0]!, users[2]!, guest]);
  const licensedGroup = await newGroup(t.admin, { displayName: "Licensed group" });
  await addMembers(t.admin, licensedGroup, [users[1]!, users[3]!]);
  await assignGroup(t.admin, licensedGroup, [{ skuId: SKU.EMS }]);
  await processed(t.admin, licensedGroup);
  const dynamicGroup = await newGroup(t.admin, {
    displayName: "Dynamic sales",
    groupTypes: ["DynamicMembership"],
    membershipRule: 'user.department -eq "Sales"',
    membershipRuleProcessingState: "On",
  });
  const deletedUser = await newUser(t.admin, { displayName: "Deleted User" });
  const deleted = await t.admin.delete(`/v1.0/users/${deletedUser}`);
  if (deleted.status !== 204) throw new Error(`seed delete failed: ${deleted.status} ${JSON.stringify(deleted.body)}`);
  await settle(t.id);
  return {
    t,
    users,
    guest,
    deletedUser,
    staticGroup,
    licensedGroup,
    dynamicGroup,
    subscriptions: [...subscriptions, selfService],
    selfService,
    ids: [...users, guest, deletedUser, staticGroup, licensedGroup, dynamicGroup, ...subscriptions, selfService],
  };
}

// ---- generators shared by the suites ----------------------------------------------------------------------------

/** Text as a hostile client sends it: any code points, lone surrogates, controls and NUL, quotes, very long runs. */
export const hostileText = (maxLength = 80): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: "grapheme", maxLength }),
    fc.string({ unit: "binary", maxLength }),
    fc.string({
      unit: fc.constantFrom("\u0000", "\ud800", "\udfff", "\u001f", "\u007f", "\u200b", "\ufeff", "'", '"', "\\", "%"),
      maxLength: 8,
    }),
    fc
      .tuple(
        fc.string({ maxLength: 4 }),
        fc.constantFrom("\ud800", "\u0000", "\n", "\u202e"),
        fc.string({ maxLength: 4 }),
      )
      .map((parts) => parts.join("")),
    fc.integer({ min: 257, max: 5000 }).map((n) => "a".repeat(n)),
  );

/** A few GUIDs: real ones of the tenant, another tenant's, and made-up ones. */
export const idLike = (ids: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(...ids),
    fc.uuid(),
    fc.constantFrom("00000000-0000-0000-0000-000000000000", "not-a-guid", "%2e%2e", "..", "a".repeat(300)),
  );

/**
 * fast-check's settings for a property of the suite: few runs by default, since each is a request through workerd
 * (FUZZ_RUNS=10 npx vitest run test/fuzz runs ten times as many); fast-check prints the seed of a failure, and
 * FUZZ_SEED=<seed> replays it.
 */
export const fuzzRuns = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns: Math.max(1, Math.round(numRuns * (Number(env.FUZZ_RUNS) || 1))),
  endOnFailure: true,
  ...(env.FUZZ_SEED ? { seed: Number(env.FUZZ_SEED) } : {}),
});

/** A fuzz test's timeout: the suite's 60 s, times FUZZ_RUNS. */
export const fuzzTimeout = 60_000 * Math.max(1, Number(env.FUZZ_RUNS) || 1);
